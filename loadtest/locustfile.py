"""Locust WebSocket load test for Parley: rooms of members, senders, fan-out latency and loss.

Every room gets ``--senders-per-room`` senders and listeners up to
``--members-per-room``; all of them are members (the sender receives its own
messages too, as in the seed). A sender writes the seed's frame
``{"handle", "message"}`` at ``--message-rate`` per second, with its send time
in the text, and every member that receives it reports the fan-out latency as
a ``WS deliver`` request. At the end each member is checked against what the
senders of its process sent into its room while it was connected; what never
arrived is reported as ``WS lost`` failures, and a summary (deliveries, p50 /
p99, lost) is logged and, with ``--csv PREFIX``, written to
``PREFIX_fanout.json``.

    locust -f loadtest/locustfile.py --headless -u 100 -r 20 -t 2m \\
        --host http://127.0.0.1:8000 --ws-host ws://127.0.0.1:8000,ws://127.0.0.1:8001

Requests in Locust's stats (type ``WS`` unless said):

- ``connect``: WebSocket handshake time, per connection; a failure when refused;
- ``send``: a chat frame written by a sender (time to write it);
- ``deliver``: send -> receive at one member (wall clocks: run the generator on
  one machine, or keep its clocks in sync);
- ``ack`` (``--parley-v1`` only): send -> ``ack``, i.e. durably stored;
- failures: ``lost``, ``duplicate``, ``order``, ``closed`` (the server dropped a
  socket), ``error`` (an error frame), ``frame`` (an unreadable frame);
- HTTP ``/new/`` or ``/[label]/``: creating or opening the rooms, and page views.
"""

import argparse
import itertools
import json
import logging
import math
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fanout
import gevent
import locust.stats
import websocket
import wire
from gevent.event import AsyncResult
from locust import HttpUser, between, constant_throughput, events, task
from locust.runners import STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

logger = logging.getLogger("parley.loadtest")

SUBPROTOCOL = "parley.v1"
CONNECT_TIMEOUT = 15.0
ROOM_TIMEOUT = 60.0
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 10.0
SUMMARY_MESSAGE = "parley_fanout_summary"
STOP_MESSAGE = "parley_fanout_stop"


class WebSocketFailure(Exception):
    """A WebSocket failure reported in Locust's failures (grouped by its text)."""


# Options ------------------------------------------------------------------


@events.init_command_line_parser.add_listener
def _add_options(parser) -> None:
    parser.add_argument(
        "--rooms",
        type=int,
        default=10,
        env_var="LOCUST_ROOMS",
        help="Rooms to load (ignored with --room-labels). Default 10.",
    )
    parser.add_argument(
        "--members-per-room",
        type=int,
        default=0,
        env_var="LOCUST_MEMBERS_PER_ROOM",
        help="Members per room, senders included; -u should be rooms x this. "
        "Default 0: spread all -u users over the rooms.",
    )
    parser.add_argument(
        "--senders-per-room",
        type=int,
        default=1,
        env_var="LOCUST_SENDERS_PER_ROOM",
        help="Members of each room that send. Default 1.",
    )
    parser.add_argument(
        "--message-rate",
        type=float,
        default=1.0,
        env_var="LOCUST_MESSAGE_RATE",
        help="Messages per second per sender; keep it under the server's "
        "PARLEY_RATE_PER_SECOND (10). Default 1.",
    )
    parser.add_argument(
        "--message-size",
        type=int,
        default=0,
        env_var="LOCUST_MESSAGE_SIZE",
        help="Pad each message's text to this many characters (at most 2000). Default: ~35.",
    )
    parser.add_argument(
        "--room-labels",
        default="",
        env_var="LOCUST_ROOM_LABELS",
        help="Comma-separated fixed room labels, opened with GET /<label>/. "
        "Default: new rooms from GET /new/.",
    )
    parser.add_argument(
        "--ws-host",
        default="",
        env_var="LOCUST_WS_HOST",
        help="Comma-separated ws(s):// (or http(s)://) bases of the interface servers; "
        "each room's members are spread over them. Default: --host.",
    )
    parser.add_argument(
        "--ws-path",
        default="/chat/{label}/",
        env_var="LOCUST_WS_PATH",
        help="WebSocket path template. Default /chat/{label}/.",
    )
    parser.add_argument(
        "--parley-v1",
        action="store_true",
        default=False,
        help="Opt in to the parley.v1 subprotocol and report send -> ack (stored) as 'ack'.",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=5.0,
        env_var="LOCUST_DRAIN_TIMEOUT",
        help="At stop, seconds members wait for messages in flight before counting "
        "them lost. Default 5.",
    )
    parser.add_argument(
        "--no-page-views",
        action="store_true",
        default=False,
        help="Listeners never reload their room's page: WebSocket traffic only.",
    )
    # Worked out by the master (or the only process) at test start, sent to workers.
    for hidden in ("--plan-listeners-per-room", "--plan-processes"):
        parser.add_argument(
            hidden, type=int, default=0, include_in_web_ui=False, help=argparse.SUPPRESS
        )


def _labels(options) -> list[str]:
    return [label.strip() for label in options.room_labels.split(",") if label.strip()]


# Rooms and placement --------------------------------------------------------


class RoomBook:
    """This process's rooms: each is created (or opened) once, by the first member needing it."""

    def __init__(self) -> None:
        self._rooms: dict[Any, AsyncResult] = {}

    def reset(self) -> None:
        """Forget the rooms of the last test."""
        self._rooms = {}

    def get(self, key: Any, make) -> str:
        """The label of room ``key``, calling ``make()`` if nobody has made it yet."""
        result = self._rooms.get(key)
        if result is None:
            result = self._rooms[key] = AsyncResult()
            try:
                result.set(make())
            except Exception as error:
                del self._rooms[key]  # the next member tries again
                result.set_exception(error)
                raise
        return result.get(timeout=ROOM_TIMEOUT)


@dataclass(frozen=True)
class Place:
    """Where one member goes: its room and the interface server it connects to."""

    room: Any  # a local room number (rooms from /new/) or a fixed label
    base: str


class Plan:
    """How this process's users fill rooms: room after room, members spread over the servers."""

    def __init__(self) -> None:
        self.reset(None, 0)

    def reset(self, options, worker_index: int) -> None:
        """Start counting users again, for a new test."""
        self.options = options
        self.worker_index = worker_index
        self.counters = {"sender": itertools.count(), "listener": itertools.count()}

    def place(self, role: str, host: str) -> Place:
        """The place of the next ``role`` user of this process."""
        options = self.options
        senders = max(1, options.senders_per_room)
        per_room = senders if role == "sender" else max(1, options.plan_listeners_per_room)
        number = next(self.counters[role])
        room, slot = divmod(number, per_room)
        bases = wire.ws_bases(options.ws_host, host)
        # A room's senders take the first servers, its listeners carry on round-robin.
        base = bases[(slot if role == "sender" else senders + slot) % len(bases)]
        labels = _labels(options)
        if labels:
            # Processes share the fixed labels: process i of n takes rooms i, i + n, ...
            processes = max(1, options.plan_processes)
            return Place(labels[(room * processes + self.worker_index) % len(labels)], base)
        return Place(room, base)


LEDGER = fanout.Ledger()
ROOMS = RoomBook()
PLAN = Plan()


# Users ------------------------------------------------------------------------


@dataclass(eq=False)
class Session:
    """One WebSocket connection of a member."""

    ws: websocket.WebSocket
    opened_at: float
    closed_at: float | None = None
    closing: bool = False
    last_id: int = 0
    receiver: gevent.Greenlet | None = field(default=None, repr=False)


class RoomMember(HttpUser):
    """A member of one room: joins it over a WebSocket and records every message it receives.

    Abstract: ``Listener`` only listens (and now and then reloads the room's
    page), ``Sender`` also sends. The receive loop runs in its own greenlet;
    a socket the server drops is reported and reconnected with backoff.
    """

    abstract = True
    role = "listener"

    def on_start(self) -> None:
        """Take a place in a room and join it."""
        self.options = self.environment.parsed_options
        self.uid = secrets.token_hex(4)
        self.handle = f"lt-{self.uid}"
        self.place = PLAN.place(self.role, self.host)
        self.label: str | None = None
        self.session: Session | None = None
        self.sessions: list[Session] = []
        self.received: set[str] = set()
        self.retry_at = 0.0
        self.backoff = BACKOFF_FIRST
        self.connect()

    def on_stop(self) -> None:
        """Wait for the messages still in flight, leave, and report what never arrived."""
        if not hasattr(self, "sessions"):
            return  # stopped before on_start got anywhere
        until = LEDGER.stopping_at or time.time()
        deadline = until + self.options.drain_timeout
        waiting = [sent for sent in self.expected(until) if sent.key not in self.received]
        while waiting and self.session is not None and time.time() < deadline:
            gevent.sleep(0.05)
            waiting = [sent for sent in waiting if sent.key not in self.received]
        if self.session is not None:
            self.close(self.session)
        if self.label is None:
            return
        expected = self.expected(until)
        missing = [sent for sent in expected if sent.key not in self.received]
        LEDGER.count("checked", len(expected))
        LEDGER.count("lost", len(missing))
        never_arrived = WebSocketFailure("sent into the room while this member was in it")
        for _ in missing:
            self.report("lost", 0, exception=never_arrived)

    # Connections -----------------------------------------------------------

    def room_label(self) -> str:
        """This member's room: made with GET /new/ or opened with GET /<label>/, once a process."""
        room = self.place.room
        if isinstance(room, str):
            return ROOMS.get(room, lambda: self.open_room(room))
        return ROOMS.get(room, self.create_room)

    def create_room(self) -> str:
        """GET /new/ and return the label it redirected to."""
        response = self.client.get("/new/", name="/new/")
        response.raise_for_status()
        label = response.url.rstrip("/").rsplit("/", 1)[-1]
        if not label or label == "new":
            raise WebSocketFailure(f"GET /new/ did not redirect to a room: {response.url}")
        return label

    def open_room(self, label: str) -> str:
        """GET /<label>/ (creating the room on a first visit) and return the label."""
        self.client.get(f"/{label}/", name="/[label]/").raise_for_status()
        return label

    def ensure_connected(self) -> bool:
        """True when connected; otherwise try to (re)connect, unless backing off."""
        return self.session is not None or self.connect()

    def connect(self) -> bool:
        """Open this member's socket and start its receive loop; report the handshake."""
        if time.time() < self.retry_at:
            return False
        try:
            self.label = self.room_label()
        except Exception as error:
            logger.warning("no room for %s: %s", self.handle, error)
            self.back_off()
            return False
        url = self.place.base + self.options.ws_path.format(label=self.label)
        started = time.perf_counter()
        try:
            ws = websocket.create_connection(
                url,
                timeout=CONNECT_TIMEOUT,
                subprotocols=[SUBPROTOCOL] if self.options.parley_v1 else None,
                suppress_origin=True,  # as command-line clients do; browsers' Origin is checked
                enable_multithread=True,  # send and receive from two greenlets
                skip_utf8_validation=True,  # decoding the text validates it anyway
            )
            if self.options.parley_v1 and ws.getsubprotocol() != SUBPROTOCOL:
                ws.close()
                raise WebSocketFailure(f"the server did not select {SUBPROTOCOL}")
        except Exception as error:
            LEDGER.count("connect_failures")
            self.report("connect", elapsed_ms(started), exception=error)
            self.back_off()
            return False
        ws.settimeout(None)  # the receive loop waits as long as it takes
        session = Session(ws, opened_at=time.time())
        self.report("connect", elapsed_ms(started))
        LEDGER.count("connects")
        LEDGER.joined(self.label)
        self.session = session
        self.sessions.append(session)
        self.backoff = BACKOFF_FIRST
        session.receiver = gevent.spawn(self.receive_loop, session)
        return True

    def back_off(self) -> None:
        """Wait longer before the next attempt (exponential, capped)."""
        self.retry_at = time.time() + self.backoff
        self.backoff = min(self.backoff * 2, BACKOFF_MAX)

    def close(self, session: Session) -> None:
        """Leave the room: stop the receive loop, close the socket."""
        session.closing = True
        if session.receiver is not None:
            session.receiver.kill(block=True)
        try:
            session.ws.close(timeout=2)
        except Exception:
            session.ws.shutdown()
        self.closed(session, 1000)

    def closed(self, session: Session, code: int) -> None:
        """Bookkeeping for a closed socket; one the server closed is reported."""
        if session.closed_at is not None:
            return
        session.closed_at = time.time()
        if self.session is session:
            self.session = None
        if session.closing:
            return
        LEDGER.count("disconnects")
        self.report(
            "closed",
            (session.closed_at - session.opened_at) * 1000,
            exception=WebSocketFailure(f"closed by the server: {code}"),
        )
        self.dropped()
        self.back_off()

    def dropped(self) -> None:
        """Hook: the server dropped this member's socket."""

    # Receiving -------------------------------------------------------------

    def receive_loop(self, session: Session) -> None:
        """Read frames until the socket closes (its own greenlet)."""
        code = wire.CLOSE_ABNORMAL
        try:
            while True:
                opcode, frame = session.ws.recv_data_frame()  # answers pings itself
                now = time.time()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    code = wire.close_code(frame.data)
                    break
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    self.on_text(session, frame.data, now)
        except (websocket.WebSocketException, OSError):
            pass
        finally:
            self.closed(session, code)

    def on_text(self, session: Session, data: bytes, now: float) -> None:
        """Dispatch one text frame."""
        try:
            frame = json.loads(data)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            self.report("frame", 0, len(data), WebSocketFailure("not a JSON object"))
            return
        kind = frame.get("type", "message")
        if kind == "message":
            self.on_message(session, frame, len(data), now)
        elif kind == "ack":
            self.on_ack(frame, now)
        elif kind == "error":
            self.on_error(frame)
        # welcome, presence, join, leave, truncated: not what this test measures

    def on_message(self, session: Session, frame: dict, size: int, now: float) -> None:
        """A chat message: check order and duplicates, report its latency."""
        parsed = wire.parse(frame.get("message"))
        if parsed is None:
            return  # someone else chatting in the room
        key, sent_at = parsed
        seq = frame.get("id")
        if isinstance(seq, int):
            if seq <= session.last_id:
                LEDGER.count("out_of_order")
                self.report("order", 0, size, WebSocketFailure("a message id not above the last"))
            session.last_id = max(session.last_id, seq)
        if key in self.received:
            LEDGER.count("duplicates")
            self.report("duplicate", 0, size, WebSocketFailure("a message received twice"))
            return
        self.received.add(key)
        latency = max(0.0, (now - sent_at) * 1000)
        LEDGER.delivered(latency)
        self.report("deliver", latency, size)
        if key.startswith(f"{self.uid}:"):
            LEDGER.confirm(key)  # the sender's own echo: the server stored it

    def on_ack(self, frame: dict, now: float) -> None:
        """parley.v1: our message is durably stored."""
        sent = LEDGER.sent.get(frame.get("client_id"))
        if sent is None or sent.sender != self.uid:
            return
        LEDGER.confirm(sent.key)
        LEDGER.count("acks")
        self.report("ack", max(0.0, (now - sent.at) * 1000))

    def on_error(self, frame: dict) -> None:
        """parley.v1: the server refused a frame (nothing of it was stored)."""
        key = frame.get("client_id")
        if isinstance(key, str):
            LEDGER.refuse(key)
        self.report("error", 0, exception=WebSocketFailure(f"error frame: {frame.get('code')}"))

    # Accounting ------------------------------------------------------------

    def intervals(self, until: float) -> list[tuple[float, float]]:
        """When this member was in its room, up to ``until``."""
        return [(s.opened_at, min(s.closed_at or until, until)) for s in self.sessions]

    def expected(self, until: float) -> list[fanout.Sent]:
        """Messages this member must have received (see ``fanout.Ledger.expected``)."""
        if self.label is None:
            return []
        return LEDGER.expected(self.label, self.intervals(until))

    def report(
        self,
        name: str,
        response_time: float,
        response_length: int = 0,
        exception: Exception | None = None,
    ) -> None:
        """Put a WebSocket event in Locust's stats (and its failures when ``exception``)."""
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=response_time,
            response_length=response_length,
            exception=exception,
            context={},
        )


class Listener(RoomMember):
    """A member who reads: stays connected and now and then reloads the room's page."""

    wait_time = between(1, 3)
    role = "listener"

    @task(20)
    def keep_connected(self) -> None:
        """Reconnect if the server dropped the socket."""
        self.ensure_connected()

    @task(1)
    def view_room(self) -> None:
        """Reload the room's page (its history), as people do."""
        if self.label is not None and not self.options.no_page_views:
            self.client.get(f"/{self.label}/", name="/[label]/")


class Sender(RoomMember):
    """A member who writes ``{handle, message}`` at ``--message-rate``, send time in the text."""

    role = "sender"

    def on_start(self) -> None:
        """Join the room and set the pace."""
        self.seq = itertools.count(1)
        self.pace = constant_throughput(self.environment.parsed_options.message_rate)
        super().on_start()

    def wait_time(self) -> float:
        """Keep to ``--message-rate`` messages per second."""
        return self.pace(self)

    @task
    def send_message(self) -> None:
        """Send one chat message; every member of the room (this one too) reports it."""
        if LEDGER.stopping_at is not None or not self.ensure_connected():
            return
        assert self.session is not None
        assert self.label is not None
        key = f"{self.uid}:{next(self.seq)}"
        sent_at = time.time()
        frame: dict[str, str] = {
            "handle": self.handle,
            "message": wire.compose(key, sent_at, self.options.message_size),
        }
        if self.options.parley_v1:
            frame["client_id"] = key
        data = json.dumps(frame)
        sent = LEDGER.record_send(key, self.label, self.uid, sent_at)
        started = time.perf_counter()
        try:
            self.session.ws.send(data)
        except Exception as error:
            sent.status = fanout.UNCONFIRMED
            LEDGER.count("send_failures")
            self.report("send", elapsed_ms(started), len(data), error)
            return
        self.report("send", elapsed_ms(started), len(data))

    def dropped(self) -> None:
        """Messages not yet seen stored when the socket dropped may or may not be stored."""
        LEDGER.sender_dropped(self.uid)


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started`` (a ``time.perf_counter()``)."""
    return (time.perf_counter() - started) * 1000


# Test lifecycle -----------------------------------------------------------


SUMMARIES: dict[str, dict[str, Any]] = {}  # the master's: one per worker
REPORTED: set[str] = set()  # the master's: workers whose stats arrived after their summary


@events.init.add_listener
def _on_init(environment, **_kwargs) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):

        def on_summary(environment, msg, **_kwargs) -> None:
            SUMMARIES[msg.node_id] = msg.data
            REPORTED.discard(msg.node_id)

        def on_worker_report(client_id, data, **_kwargs) -> None:
            if client_id in SUMMARIES:
                REPORTED.add(client_id)  # its stats now include its drain and its losses

        runner.register_message(SUMMARY_MESSAGE, on_summary)
        environment.events.worker_report.add_listener(on_worker_report)
    elif isinstance(runner, WorkerRunner):

        def on_stop_request(environment, msg, **_kwargs) -> None:
            environment.runner.stop()  # drains, then test_stop sends the summary

        runner.register_message(STOP_MESSAGE, on_stop_request, concurrent=True)


@events.test_start.add_listener
def _on_test_start(environment, **_kwargs) -> None:
    runner = environment.runner
    options = environment.parsed_options
    if not isinstance(runner, WorkerRunner):
        plan_rooms(environment)
    SUMMARIES.clear()
    REPORTED.clear()
    LEDGER.reset()
    ROOMS.reset()
    PLAN.reset(options, getattr(runner, "worker_index", 0))


def plan_rooms(environment) -> None:
    """Master or single process: how many senders and listeners each room gets."""
    options = environment.parsed_options
    runner = environment.runner
    rooms = len(_labels(options)) or max(1, options.rooms)
    senders_per_room = max(1, options.senders_per_room)
    users = runner.target_user_count
    Sender.fixed_count = rooms * senders_per_room
    if options.members_per_room:
        listeners_per_room = max(0, options.members_per_room - senders_per_room)
        # Every class has a fixed count: users beyond rooms x members are not started.
        Listener.fixed_count = rooms * listeners_per_room
        if users != rooms * max(options.members_per_room, senders_per_room):
            logger.warning(
                "-u %d does not fill %d rooms of %d members", users, rooms, options.members_per_room
            )
    else:
        listeners_per_room = math.ceil(max(0, users - Sender.fixed_count) / rooms)
        Listener.fixed_count = 0  # the rest of -u
    if users < Sender.fixed_count:
        logger.warning("-u %d is fewer than the %d senders", users, Sender.fixed_count)
    options.plan_listeners_per_room = listeners_per_room
    options.plan_processes = runner.worker_count if isinstance(runner, MasterRunner) else 1
    logger.info(
        "Parley: %d rooms of %d sender(s) + %d listener(s), %.3g messages/s per sender",
        rooms,
        senders_per_room,
        listeners_per_room,
        options.message_rate,
    )


@events.test_stopping.add_listener
def _on_test_stopping(environment, **_kwargs) -> None:
    LEDGER.stopping_at = time.time()  # senders stop; members drain what is in flight
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
        deadline = time.time() + environment.parsed_options.drain_timeout + 30
        while not workers <= REPORTED and time.time() < deadline:
            gevent.sleep(0.1)


@events.test_stop.add_listener
def _on_test_stop(environment, **_kwargs) -> None:
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
        path = Path(f"{prefix}_fanout.json")
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        logger.info("Parley fan-out summary written to %s", path)
        # Locust rewrites its CSV files every CSV_STATS_INTERVAL_SEC and not again at exit:
        # give it one more turn, or the deliveries and losses of the drain are left out.
        gevent.sleep(locust.stats.CSV_STATS_INTERVAL_SEC + 0.25)
