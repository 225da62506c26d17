"""The abstract Locust user of this load test: a member of one room, on one WebSocket.

Its receive loop runs in a greenlet of its own, so a member hears its room
while its tasks run. Everything that happens on the socket goes into
Locust's stats, UI and CSV through Locust's request event (type ``WS``).
What to send, resend and ask for after a reconnect, how long to back off,
and whether a message is in sequence is the shared client model's
(``client_model``), the one the fault tests drive too; a member only moves its
frames over the socket.
"""

import logging
import secrets
import time
from urllib.parse import urlencode

import end_check
import gevent
import websocket
import wire
from client_model import ClientModel, Received
from connection import Session, WebSocketFailure, close_session, elapsed_ms, open_websocket
from fanout import LEDGER
from locust import HttpUser
from placement import PLACEMENT, room_label

# One logger name for the whole load test: it is what Locust prints on each line.
logger = logging.getLogger("parley.loadtest")


class RoomMember(HttpUser):
    """A member of one room: joins it over a WebSocket and records every message it receives.

    Abstract: ``Listener`` only listens (and now and then reloads the room's
    page), ``Sender`` also sends. A socket the server drops is reported and
    reconnected with the model's backoff (with jitter); with ``--parley-v1``
    it catches up with ``?after=`` and resends what was not acknowledged.
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
        self.model = ClientModel(self.handle, opted_in=self.options.parley_v1)
        self.retry_at = 0.0
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
            self.retry_at = time.time() + self.model.connect_failed()
            return False
        started = time.perf_counter()
        try:
            ws = open_websocket(self.socket_url(), parley_v1=self.options.parley_v1)
        except Exception as error:
            LEDGER.count("connect_failures")
            self.report("connect", elapsed_ms(started), exception=error)
            self.retry_at = time.time() + self.model.connect_failed()
            return False
        ws.settimeout(None)  # the receive loop waits as long as it takes
        session = Session(ws, opened_at=time.time())
        self.report("connect", elapsed_ms(started))
        LEDGER.count("connects")
        LEDGER.joined(self.label)
        self.session = session
        self.sessions.append(session)
        self.model.opened()
        session.receiver = gevent.spawn(self.receive_loop, session)
        self.write_pending()  # what the last socket sent and saw no ack for
        return True

    def socket_url(self) -> str:
        """This member's WebSocket URL, with the model's query (catch-up, handle) if any."""
        url = self.place.base + self.options.ws_path.format(label=self.label)
        query = self.model.query()
        return f"{url}{'&' if '?' in url else '?'}{urlencode(query)}" if query else url

    def write_pending(self) -> None:
        """Write what the model hands out now (new messages; resends after a reconnect)."""
        session = self.session
        for data in self.model.to_send(time.time()) if session is not None else ():
            started = time.perf_counter()
            try:
                session.ws.send(data)
            except Exception as error:
                LEDGER.count("send_failures")
                self.report("send", elapsed_ms(started), len(data), error)
                self.dropped()
                return
            self.report("send", elapsed_ms(started), len(data))

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
            delay = self.model.closed(code)
            self.retry_at = float("inf") if delay is None else session.closed_at + delay
        if session.closing:
            return
        LEDGER.count("disconnects")
        self.report(
            "closed",
            (session.closed_at - session.opened_at) * 1000,
            exception=WebSocketFailure(f"closed by the server: {code}"),
        )
        self.dropped()

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
        """Called for each text frame received: let the model read it, then report it."""
        received = self.model.receive(data, now)
        if received.kind == "invalid":
            self.report("frame", 0, len(data), WebSocketFailure("not a JSON object"))
        elif received.kind == "message":
            self.on_message(received, len(data), now)
        elif received.kind == "ack":
            self.on_ack(received.frame, now)
        elif received.kind == "error":
            self.on_error(received.frame)
        # welcome, presence, join, leave, truncated: not what this test measures

    def on_message(self, received: Received, size: int, now: float) -> None:
        """Called for a chat message: check sequence and duplicates, report its latency."""
        if not received.new:
            LEDGER.count("out_of_order")
            self.report("order", 0, size, WebSocketFailure("a message id not above the last"))
        elif received.gap:
            LEDGER.count("gaps")
            self.report("gap", 0, size, WebSocketFailure("message ids skipped"))
        parsed = wire.parse(received.frame.get("message"))
        if parsed is None:
            return  # someone else chatting in the room
        key, sent_at = parsed
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
        """Called for a parley.v1 ``error``: the server refused a frame (stored nothing of it).

        The model resends what was refused for now (``rate_limited``,
        ``overloaded``); what it dropped for good is not expected anywhere.
        """
        key = frame.get("client_id")
        if isinstance(key, str) and key in self.model.refused:
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
