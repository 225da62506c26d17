"""The load test's own command-line options, in Locust's parser (and its web UI).

Declared as data: ``OPTIONS`` gives each one's flag, type and default, in the
order ``--help`` and the web UI list them, and ``HELP`` its help text. Like
Locust's own options, each one that takes a value can also be set in the
environment as ``LOCUST_<FLAG>`` (``--rooms``: ``LOCUST_ROOMS``) or in a Locust
config file.
"""

import argparse

# Flag, type and default; type ``bool`` makes a switch, ``None`` takes the text as it is.
OPTIONS: tuple[tuple[str, type | None, object], ...] = (
    ("--rooms", int, 10),
    ("--members-per-room", int, 0),
    ("--senders-per-room", int, 1),
    ("--message-rate", float, 1.0),
    ("--message-size", int, 0),
    ("--room-labels", None, ""),
    ("--ws-host", None, ""),
    ("--ws-path", None, "/chat/{label}/"),
    ("--parley-v1", bool, False),
    ("--drain-timeout", float, 5.0),
    ("--no-page-views", bool, False),
)

HELP = {
    "--rooms": "Rooms to load (ignored with --room-labels). Default 10.",
    "--members-per-room": (
        "Members per room, senders included; -u should be rooms x this. "
        "Default 0: spread all -u users over the rooms."
    ),
    "--senders-per-room": "Members of each room that send. Default 1.",
    "--message-rate": (
        "Messages per second per sender; keep it under the server's "
        "PARLEY_RATE_PER_SECOND (10). Default 1."
    ),
    "--message-size": (
        "Pad each message's text to this many characters (at most 2000). Default: ~35."
    ),
    "--room-labels": (
        "Comma-separated fixed room labels, opened with GET /<label>/. "
        "Default: new rooms from GET /new/."
    ),
    "--ws-host": (
        "Comma-separated ws(s):// (or http(s)://) bases of the interface servers; "
        "each room's members are spread over them. Default: --host."
    ),
    "--ws-path": "WebSocket path template. Default /chat/{label}/.",
    "--parley-v1": (
        "Opt in to the parley.v1 subprotocol and report send -> ack (stored) as 'ack'."
    ),
    "--drain-timeout": (
        "At stop, seconds members wait for messages in flight before counting them lost. Default 5."
    ),
    "--no-page-views": "Listeners never reload their room's page: WebSocket traffic only.",
}

# The room plan, worked out by the master (or the only process) at test start. Options
# only because Locust sends its parsed options to its workers: that is how they learn it.
PLAN_OPTIONS = ("--plan-listeners-per-room", "--plan-processes")


def add_options(parser) -> None:
    """Called when Locust builds its command-line parser: add this load test's options."""
    for flag, kind, default in OPTIONS:
        if kind is bool:
            parser.add_argument(flag, action="store_true", default=default, help=HELP[flag])
        else:
            parser.add_argument(
                flag, type=kind, default=default, env_var=env_var(flag), help=HELP[flag]
            )
    for hidden in PLAN_OPTIONS:
        parser.add_argument(
            hidden, type=int, default=0, include_in_web_ui=False, help=argparse.SUPPRESS
        )


def env_var(flag: str) -> str:
    """The environment variable that sets ``flag``: ``--ws-host`` -> ``LOCUST_WS_HOST``."""
    return "LOCUST_" + flag.removeprefix("--").replace("-", "_").upper()


def fixed_room_labels(options) -> list[str]:
    """The labels of ``--room-labels``; empty when the rooms are made with GET /new/."""
    return [label.strip() for label in options.room_labels.split(",") if label.strip()]
