"""A Parley client as the room page behaves, without any I/O: what to send, when to reconnect.

The fault tests (asyncio, ``tests/support/resending_client.py``) and the
Locust users (gevent, ``members.py``) drive this one model over their own
sockets, so both behave like Parley's page (``app/chat/static/chat/room.js``):

- opted-in (``parley.v1``) messages carry a client id and stay in the outbox,
  in the order sent, until the server settles them (their ``ack``, or their
  own broadcast, which carries the client id: both mean stored);
- after a reconnect everything still in the outbox is written again, in order
  (resends are idempotent), and the socket asks for what it missed with
  ``?after=<last id seen>``;
- reconnects wait with exponential backoff and jitter; ``rate_limited`` and
  ``overloaded`` errors resend after ``retry_after``, with jitter;
- received messages are checked against the room's sequence: a message at or
  below the last id seen is a repeat (dropped), one beyond the next id a gap.

The model reads no clock and opens no socket: callers pass the time and the
frames in, and write out the frames it returns. Standard library only, so it
imports under asyncio, gevent and plain pytest alike.
"""

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SUBPROTOCOL = "parley.v1"
CLOSE_ROOM_NOT_FOUND = 4404  # docs/protocol.md: reconnecting cannot help
RETRY_LATER_CODES = frozenset({"rate_limited", "overloaded"})  # resend after retry_after


class Backoff:
    """Delays between attempts to (re)connect: doubling from ``first`` up to ``cap``, jittered.

    As the room page: the n-th attempt waits ``min(cap, first * 2**(n-1))``
    times a random factor in [0.5, 1), so clients dropped together do not
    come back together.
    """

    def __init__(
        self, first: float = 0.5, cap: float = 10.0, rand: Callable[[], float] = random.random
    ) -> None:
        self.first = first
        self.cap = cap
        self.rand = rand
        self.attempt = 0

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; each call backs off further."""
        self.attempt += 1
        return min(self.cap, self.first * 2 ** (self.attempt - 1)) * (0.5 + self.rand() / 2)

    def reset(self) -> None:
        """Called once a connection is established: the next failure starts over."""
        self.attempt = 0


@dataclass(slots=True)
class Outgoing:
    """One message the client sent and the server has not yet settled."""

    client_id: str
    frame: str  # the JSON text written on the socket
    written: bool = False  # written on the current connection


@dataclass(frozen=True, slots=True)
class Received:
    """What one received frame meant (``ClientModel.receive``'s answer)."""

    kind: str  # the frame's type ("message" without one); "invalid" for non-objects
    frame: dict[str, Any] = field(default_factory=dict)
    new: bool = True  # a message above the last id seen; False for a repeat
    gap: int = 0  # ids skipped right before this message (0: in sequence)
    settled: str | None = None  # the client id of ours this frame settled


class ClientModel:
    """One member of one room, as Parley's page behaves, minus the sockets and the clock.

    ``after`` is the cursor to start from: ``0`` replays the room's history
    at the first connect, ``None`` starts with live messages only. A plain
    client (``opted_in=False``) keeps nothing once written and never catches up.
    """

    def __init__(
        self,
        handle: str,
        *,
        opted_in: bool = True,
        after: int | None = None,
        backoff: Backoff | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.handle = handle
        self.opted_in = opted_in
        self.last_id = after
        self.backoff = backoff or Backoff(rand=rand)
        self.rand = rand
        self.outbox: dict[str, Outgoing] = {}  # client id -> message, in the order sent
        # Client id -> its id in the room, from its ack or its own broadcast (both: stored).
        self.acked: dict[str, int] = {}
        self.refused: dict[str, str] = {}  # client id -> error code (refused for good)
        self.counts: Counter[str] = Counter()
        self.connected = False
        self.resend_at: float | None = None
        self._in_sequence = after is not None and opted_in  # the next id must be last_id + 1
        self._plain_ids = 0

    # Sending ------------------------------------------------------------------

    def message(self, text: str, client_id: str | None = None) -> str:
        """Queue a chat message; return its client id. ``to_send`` hands out its frame."""
        if client_id is None:
            self._plain_ids += 1
            client_id = f"{self.handle}:{self._plain_ids}"
        frame: dict[str, Any] = {"handle": self.handle, "message": text}
        if self.opted_in:
            frame = {"type": "message", "client_id": client_id, **frame}
        self.outbox[client_id] = Outgoing(client_id, json.dumps(frame))
        self.counts["sent"] += 1
        return client_id

    def to_send(self, now: float) -> list[str]:
        """Frames to write now, in order: new messages, and all unsettled ones after a retry.

        Returns nothing while disconnected. A plain client's messages leave the
        outbox once handed out: without a client id a resend would store them twice.
        """
        if not self.connected:
            return []
        if self.resend_at is not None and now >= self.resend_at:
            self.resend_at = None
            for outgoing in self.outbox.values():
                outgoing.written = False
        due = [outgoing for outgoing in self.outbox.values() if not outgoing.written]
        for outgoing in due:
            outgoing.written = True
            if not self.opted_in:
                del self.outbox[outgoing.client_id]
        return [outgoing.frame for outgoing in due]

    @property
    def pending(self) -> list[str]:
        """Client ids not yet settled, in the order sent."""
        return list(self.outbox)

    # Connecting ---------------------------------------------------------------

    def query(self) -> dict[str, str]:
        """The query string of the next connect: ``after`` (catch-up) and ``handle``."""
        if not self.opted_in:
            return {}
        query = {"handle": self.handle}
        if self.last_id is not None:
            query["after"] = str(self.last_id)
        return query

    def opened(self) -> None:
        """Called when a socket opened: everything unsettled is written again, in order."""
        if self.counts["opened"]:
            self.counts["reconnects"] += 1
        self.counts["opened"] += 1
        self.connected = True
        self.resend_at = None
        self._in_sequence = self.opted_in and self.last_id is not None
        for outgoing in self.outbox.values():
            outgoing.written = False
        if not self.opted_in:
            self.backoff.reset()  # no welcome frame will say the join succeeded

    def closed(self, code: int | None) -> float | None:
        """Called when the socket closed; seconds to wait before reconnecting (None: never)."""
        self.connected = False
        self.counts["closed"] += 1
        if code == CLOSE_ROOM_NOT_FOUND:
            return None
        return self.backoff.next_delay()

    def connect_failed(self) -> float:
        """Called when a connect attempt failed; seconds to wait before the next one."""
        self.counts["connect_failures"] += 1
        return self.backoff.next_delay()

    # Receiving ----------------------------------------------------------------

    def receive(self, data: str | bytes, now: float) -> Received:
        """Called for each text frame received: update the state, say what it was."""
        try:
            frame = json.loads(data)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            self.counts["invalid"] += 1
            return Received("invalid")
        kind = frame.get("type", "message")
        self.counts[kind] += 1
        if kind == "message":
            return self._on_message(frame)
        if kind == "ack":
            return self._on_ack(frame)
        if kind == "error":
            return self._on_error(frame, now)
        if kind == "welcome":
            self.backoff.reset()  # the server took us in
        elif kind == "truncated" and isinstance(frame.get("resumes_after"), int):
            self.last_id = frame["resumes_after"]  # catch-up skips these on purpose
        return Received(kind, frame)

    def _on_message(self, frame: dict[str, Any]) -> Received:
        seq = frame.get("id")
        if not isinstance(seq, int):
            return Received("message", frame)
        if self.last_id is not None and seq <= self.last_id:
            self.counts["repeats"] += 1
            return Received("message", frame, new=False)
        gap = seq - self.last_id - 1 if self._in_sequence and self.last_id is not None else 0
        if gap:
            self.counts["gaps"] += 1
        self.last_id = seq
        self._in_sequence = True
        settled = self._settle(frame.get("client_id"))
        if settled is not None:  # our own message, broadcast: stored as surely as an ack says
            self.acked[settled] = seq
        return Received("message", frame, gap=gap, settled=settled)

    def _on_error(self, frame: dict[str, Any], now: float) -> Received:
        client_id = frame.get("client_id")
        if client_id not in self.outbox or frame.get("close"):
            return Received("error", frame)
        if frame.get("code") in RETRY_LATER_CODES:
            delay = float(frame.get("retry_after") or 1.0) * (1 + self.rand() / 2)
            if self.resend_at is None:
                self.resend_at = now + delay
        else:  # refused for good (too long, invalid): never send it again
            del self.outbox[client_id]
            self.refused[client_id] = str(frame.get("code"))
        return Received("error", frame)

    def _on_ack(self, frame: dict[str, Any]) -> Received:
        """An ack comes only to the socket that sent the message: it is always ours."""
        client_id = frame.get("client_id")
        if isinstance(client_id, str) and isinstance(frame.get("id"), int):
            self.acked[client_id] = frame["id"]
        if frame.get("duplicate"):
            self.counts["duplicate_acks"] += 1
        return Received("ack", frame, settled=self._settle(client_id))

    def _settle(self, client_id: Any) -> str | None:
        """Take ``client_id`` out of the outbox (it is stored); return it if it was there."""
        if not isinstance(client_id, str) or self.outbox.pop(client_id, None) is None:
            return None
        return client_id
