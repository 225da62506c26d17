"""One room on one interface server: its local members and its in-order stream.

Stored messages reach the feed from the channel layer in any order; the feed
releases them strictly by sequence number (holding a gap for ``gap_hold``
seconds, then filling it from history) and hands each to every member once.
A member that has joined but whose handshake is not finished yet gets its
frames held until ``release``, so nothing sent after its join passes it by.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from app.chat.events import MemberInfo
from app.chat.history import RoomHistory
from app.chat.messages import ChatMessage
from app.chat.protocol import dumps, stored_message_frame, truncated_frame
from app.chat.sequencer import Sequencer
from app.ops.metrics import ERRORS, FRAMES_OUT, GAP_FILLS, ROOM_MEMBERS

logger = logging.getLogger(__name__)

GAP_FILL_LIMIT = 10_000


class Member(Protocol):
    """A local socket in a room, as the feed sees it."""

    connection_id: str
    opted_in: bool

    def info(self) -> MemberInfo:
        """Presence details of this member."""

    async def send_text(self, text: str) -> None:
        """Send one frame to the client."""

    async def go_away(self) -> None:
        """Close the socket, asking the client to reconnect (this server is stopping)."""


class RoomFeed:
    """A room's local members and its in-order stream of stored messages."""

    def __init__(
        self,
        label: str,
        *,
        history: RoomHistory,
        gap_hold: float,
        catchup_limit: int,
        spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task],
    ) -> None:
        self.label = label
        self.members: dict[str, Member] = {}
        self._history = history
        self._gap_hold = gap_hold
        self._catchup_limit = catchup_limit
        self._spawn = spawn
        self._sequencer: Sequencer[ChatMessage] | None = None
        self._early: list[ChatMessage] = []  # arrived before the stream's start was known
        self._seen: dict[str, int] = {}  # connection id -> the last seq it was sent
        self._held: dict[str, list[str]] = {}  # frames for members not yet released
        self._lock = asyncio.Lock()
        self._gap_task: asyncio.Task | None = None
        self.closed = False  # its last member left: the hub has let the room go

    @property
    def started(self) -> bool:
        """Whether the stream knows where it starts (``start`` has run)."""
        return self._sequencer is not None

    async def start(self, last_seq: int) -> None:
        """Begin the stream after ``last_seq``; release what arrived before."""
        async with self._lock:
            self._sequencer = Sequencer(next_seq=last_seq + 1)
            early, self._early = self._early, []
            for message in early:
                await self._offer(message)

    async def add(self, member: Member, *, after: int | None) -> bool:
        """Add ``member``, holding its frames until ``release``; first catch it up after ``after``.

        Returns False, adding nothing, when the feed was closed meanwhile.
        """
        async with self._lock:
            if self.closed:
                return False
            assert self._sequencer is not None, "start the feed first"
            self.members[member.connection_id] = member
            ROOM_MEMBERS.inc()
            self._held[member.connection_id] = []
            self._seen[member.connection_id] = self._sequencer.next_seq - 1
            if after is not None:
                try:
                    await self._catch_up(member, after)
                except BaseException:  # history unreachable: the join fails, leaving no trace
                    self.remove(member)
                    raise
        return True

    def remove(self, member: Member) -> bool:
        """Forget ``member``; return whether it was here."""
        self._held.pop(member.connection_id, None)
        self._seen.pop(member.connection_id, None)
        if self.members.pop(member.connection_id, None) is None:
            return False
        ROOM_MEMBERS.dec()
        return True

    async def release(self, member: Member) -> None:
        """Send ``member`` the frames held since it joined, then send it frames directly."""
        held = self._held.get(member.connection_id)
        while held:
            await self._send_now(member, held.pop(0))
        self._held.pop(member.connection_id, None)

    async def offer(self, message: ChatMessage) -> None:
        """Take one stored message from the layer; deliver whatever is now in order."""
        async with self._lock:
            await self._offer(message)

    async def broadcast(self, text: str, *, opted_in_only: bool) -> None:
        """Send one encoded frame to every member (or to those opted in)."""
        for member in list(self.members.values()):
            if member.opted_in or not opted_in_only:
                await self._send(member, text)

    async def fill_tail(self) -> None:
        """Deliver whatever history holds past the stream (broadcasts lost in an outage)."""
        async with self._lock:
            if self._sequencer is not None:
                await self._fill_from_history(upto=None)

    # ------------------------------------------------------------ the stream
    async def _offer(self, message: ChatMessage) -> None:
        if self._sequencer is None:
            self._early.append(message)
            return
        assert message.seq is not None
        for ready in self._sequencer.push(message.seq, message):
            await self._deliver(ready)
        if self._sequencer.missing() and self._gap_task is None:
            self._gap_task = self._spawn(self._fill_gap_later())

    async def _deliver(self, message: ChatMessage) -> None:
        text = dumps(stored_message_frame(message))
        seq = message.seq
        assert seq is not None
        for member in list(self.members.values()):
            if seq > self._seen.get(member.connection_id, seq):
                self._seen[member.connection_id] = seq
                await self._send(member, text)

    async def _fill_gap_later(self) -> None:
        """Fill the first gap once it has been held ``gap_hold``; then any gap still open."""
        await asyncio.sleep(self._gap_hold)
        async with self._lock:
            self._gap_task = None
            gap = self._sequencer.missing() if self._sequencer else None
            try:
                if gap is not None:
                    await self._fill_from_history(upto=gap[1])
            except Exception:  # history unreachable: hold on, try again after the next hold
                ERRORS.labels(kind="gap_fill").inc()
                logger.warning("Room %s: filling gap %s failed", self.label, gap, exc_info=True)
            if self._sequencer is not None and self._sequencer.missing() and not self.closed:
                self._gap_task = self._spawn(self._fill_gap_later())

    async def _fill_from_history(self, *, upto: int | None) -> None:
        """Deliver stored messages past the stream's position (the lock is held)."""
        assert self._sequencer is not None
        first = self._sequencer.next_seq
        stored = await self._history.messages_after(
            self.label, after=first - 1, upto=upto, limit=GAP_FILL_LIMIT
        )
        if stored:
            GAP_FILLS.inc()
            logger.info("Room %s: filled %d message(s) from history", self.label, len(stored))
        for message in stored:
            assert message.seq is not None
            for ready in self._sequencer.push(message.seq, message):
                await self._deliver(ready)
        if upto is not None and self._sequencer.next_seq <= upto:
            logger.error("Room %s: messages %d-%d are not in history", self.label, first, upto)
            for ready in self._sequencer.skip_to(upto + 1):
                await self._deliver(ready)

    async def _catch_up(self, member: Member, after: int) -> None:
        """Send ``member`` the messages after ``after`` it missed (the lock is held)."""
        last = self._seen[member.connection_id]
        if after >= last:
            self._seen[member.connection_id] = after
            return
        first = max(after, last - self._catchup_limit)
        if first > after:
            await self._send(member, dumps(truncated_frame(after=after, resumes_after=first)))
        missed = await self._history.messages_after(
            self.label, after=first, upto=last, limit=self._catchup_limit
        )
        for message in missed:
            await self._send(member, dumps(stored_message_frame(message)))

    # ------------------------------------------------------------ sending
    async def _send(self, member: Member, text: str) -> None:
        held = self._held.get(member.connection_id)
        if held is not None:
            held.append(text)
        else:
            await self._send_now(member, text)

    async def _send_now(self, member: Member, text: str) -> None:
        try:
            await member.send_text(text)
        except Exception:  # the socket went away mid-send; its disconnect cleans up
            ERRORS.labels(kind="send").inc()
            logger.debug("Send to %s failed", member.connection_id, exc_info=True)
            return
        FRAMES_OUT.inc()
