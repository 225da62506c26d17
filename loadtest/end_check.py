"""The end-of-run check: what each member never received, and the run's fan-out report.

When the test stops, senders stop and each member waits up to
``--drain-timeout`` for the messages still in flight, then reports every
message sent into its room while it was there that it never received as a
``WS lost`` failure: like any failure, that makes Locust exit 1. Each process
sums up its ledger (``fanout``); run distributed, the master has its workers
stop, drain and send their summaries and last stats before it ends. The
merged report is logged and, with ``--csv PREFIX``, written to
``PREFIX_fanout.json``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Protocol

import fanout
import gevent
import locust.stats
from connection import Session, WebSocketFailure
from fanout import LEDGER
from locust.runners import STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

# One logger name for the whole load test: it is what Locust prints on each line.
logger = logging.getLogger("parley.loadtest")

SUMMARY_MESSAGE = "parley_fanout_summary"
STOP_MESSAGE = "parley_fanout_stop"
WORKER_GRACE = 30  # seconds the master waits for its workers' summaries beyond the drain

SUMMARIES: dict[str, dict[str, Any]] = {}  # the master's: one per worker
REPORTED: set[str] = set()  # the master's: workers whose stats arrived after their summary


def reset() -> None:
    """Called when a test starts: forget the last test's figures."""
    SUMMARIES.clear()
    REPORTED.clear()
    LEDGER.reset()


# Each member ----------------------------------------------------------------
class Member(Protocol):
    """What the check reads of a room member (``members.RoomMember`` is one)."""

    label: str | None
    options: Any
    session: Session | None
    sessions: list[Session]
    received: set[str]

    def report(self, name: str, response_time: float, **kwargs: Any) -> None:
        """Report one request to Locust's stats."""


def expected_messages(member: Member, until: float) -> list[fanout.Sent]:
    """Messages ``member`` must have received up to ``until`` (see ``fanout.Ledger.expected``)."""
    if member.label is None:
        return []
    intervals = [(s.opened_at, min(s.closed_at or until, until)) for s in member.sessions]
    return LEDGER.expected(member.label, intervals)


def wait_for_in_flight(member: Member, until: float) -> None:
    """Give what ``member`` still expects until ``--drain-timeout`` after ``until`` to arrive."""
    deadline = until + member.options.drain_timeout
    waiting = [sent for sent in expected_messages(member, until) if sent.key not in member.received]
    while waiting and member.session is not None and time.time() < deadline:
        gevent.sleep(0.05)
        waiting = [sent for sent in waiting if sent.key not in member.received]


def report_lost(member: Member, until: float) -> None:
    """Count what ``member`` was checked for, and report each message it never got as lost."""
    expected = expected_messages(member, until)
    missing = [sent for sent in expected if sent.key not in member.received]
    LEDGER.count("checked", len(expected))
    LEDGER.count("lost", len(missing))
    never_arrived = WebSocketFailure("sent into the room while this member was in it")
    for _ in missing:
        member.report("lost", 0, exception=never_arrived)


# The run ----------------------------------------------------------------------


def on_init(environment, **_kwargs) -> None:
    """Called when Locust starts: how master and workers hand over the summaries."""
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.register_message(SUMMARY_MESSAGE, _on_summary)
        environment.events.worker_report.add_listener(_on_worker_report)
    elif isinstance(runner, WorkerRunner):
        runner.register_message(STOP_MESSAGE, _on_stop_request, concurrent=True)


def _on_summary(environment, msg, **_kwargs) -> None:
    """Master: called when a worker sends its summary."""
    SUMMARIES[msg.node_id] = msg.data
    REPORTED.discard(msg.node_id)


def _on_worker_report(client_id, data, **_kwargs) -> None:
    """Master: called when a worker sends its stats."""
    if client_id in SUMMARIES:
        REPORTED.add(client_id)  # its stats now include its drain and its losses


def _on_stop_request(environment, msg, **_kwargs) -> None:
    """Worker: called when the master asks it to stop."""
    environment.runner.stop()  # drains, then test_stop sends the summary


def on_test_stopping(environment, **_kwargs) -> None:
    """Called when the test is stopping: senders stop, members drain what is in flight."""
    LEDGER.stopping_at = time.time()
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        # Headless, the master quits without waiting for its workers: have every worker
        # stop, drain and send its summary and stats first.
        workers = {
            client.id
            for client in runner.clients.all
            if client.state in (STATE_RUNNING, STATE_SPAWNING)
        }
        for worker in workers:
            runner.send_message(STOP_MESSAGE, None, client_id=worker)
        deadline = time.time() + environment.parsed_options.drain_timeout + WORKER_GRACE
        while not workers <= REPORTED and time.time() < deadline:
            gevent.sleep(0.1)


def on_test_stop(environment, **_kwargs) -> None:
    """Called when the test has stopped: a worker sends its summary, the others report."""
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.send_message(SUMMARY_MESSAGE, LEDGER.summary(f"worker-{runner.worker_index}"))
        return
    if isinstance(runner, MasterRunner):
        if not SUMMARIES:
            return
        report = fanout.merge(SUMMARIES.values())
    else:
        report = fanout.merge([LEDGER.summary("local")])
    logger.info("%s", fanout.describe(report))
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if prefix:
        write_report(report, prefix)


def write_report(report: dict[str, Any], prefix: str) -> None:
    """Write ``report`` to ``PREFIX_fanout.json``, next to Locust's CSV files."""
    path = Path(f"{prefix}_fanout.json")
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    logger.info("Parley fan-out summary written to %s", path)
    # Locust rewrites its CSV files every CSV_STATS_INTERVAL_SEC and not again at exit:
    # give it one more turn, or the deliveries and losses of the drain are left out.
    gevent.sleep(locust.stats.CSV_STATS_INTERVAL_SEC + 0.25)
