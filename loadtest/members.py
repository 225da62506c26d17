"""The abstract Locust user of this load test: a member of one room, on one WebSocket.

Its receive loop runs in a greenlet of its own, so a member hears its room
while its tasks run. Everything that happens on the socket goes into
Locust's stats, UI and CSV through Locust's request event (type ``WS``).
"""

import json
import logging
import secrets
import time

import end_check
import gevent
import websocket
import wire
from connection import Session, WebSocketFailure, close_session, elapsed_ms, open_websocket
from fanout import LEDGER
from locust import HttpUser
from placement import PLACEMENT, room_label

# One logger name for the whole load test: it is what Locust prints on each line.
logger = logging.getLogger("parley.loadtest")

BACKOFF_FIRST, BACKOFF_MAX = 0.5, 10.0  # seconds between attempts to (re)connect


class RoomMember(HttpUser):
    """A member of one room: joins it over a WebSocket and records every message it receives.

    Abstract: ``Listener`` only listens (and now and then reloads the room's
    page), ``Sender`` also sends. A socket the server drops is reported and
    reconnected with backoff.
    """

    abstract = True
    role = "listener"

    def on_start(self) -> None:
        """Called when the user starts: take a place in a room and join it."""
        self.options = self.environment.parsed_options
        self.uid = secrets.token_hex(4)
        self.handle = f"lt-{self.uid}"
        self.place = PLACEMENT.place(self.role, self.host)
        self.label: str | None = None
        self.session: Session | None = None
        self.sessions: list[Session] = []
        self.received: set[str] = set()
        self.retry_at = 0.0
        self.backoff = BACKOFF_FIRST
        self.connect()

    def on_stop(self) -> None:
        """Called when the user stops: wait for messages in flight, leave, report the lost."""
        if not hasattr(self, "sessions"):
            return  # stopped before on_start got anywhere
        until = LEDGER.stopping_at or time.time()
        end_check.wait_for_in_flight(self, until)
        if self.session is not None:
            self.close(self.session)
        if self.label is not None:
            end_check.report_lost(self, until)

    # Connections -----------------------------------------------------------

    def ensure_connected(self) -> bool:
        """True when connected; otherwise try to (re)connect, unless backing off."""
        return self.session is not None or self.connect()

    def connect(self) -> bool:
        """Open this member's socket and start its receive loop; report the handshake."""
        if time.time() < self.retry_at:
            return False
        try:
            self.label = room_label(self.client, self.place.room)
        except Exception as error:
            logger.warning("no room for %s: %s", self.handle, error)
            self.back_off()
            return False
        url = self.place.base + self.options.ws_path.format(label=self.label)
        started = time.perf_counter()
        try:
            ws = open_websocket(url, parley_v1=self.options.parley_v1)
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
        close_session(session)
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
        """Called for each text frame received: dispatch it on its ``type``."""
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
        """Called for a chat message: check order and duplicates, report its latency."""
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
        """Called for a parley.v1 ``ack``: our message is durably stored."""
        sent = LEDGER.sent.get(frame.get("client_id"))
        if sent is None or sent.sender != self.uid:
            return
        LEDGER.confirm(sent.key)
        LEDGER.count("acks")
        self.report("ack", max(0.0, (now - sent.at) * 1000))

    def on_error(self, frame: dict) -> None:
        """Called for a parley.v1 ``error``: the server refused a frame (stored nothing of it)."""
        key = frame.get("client_id")
        if isinstance(key, str):
            LEDGER.refuse(key)
        self.report("error", 0, exception=WebSocketFailure(f"error frame: {frame.get('code')}"))

    # Reporting -------------------------------------------------------------

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
