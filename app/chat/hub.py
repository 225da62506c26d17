"""One channel-layer subscription per room per process, fanned out to its sockets.

Workers send each stored message once to the room's group. On every
interface server the group's only member is that server's hub, which
releases the room's messages strictly in sequence (holding a gap briefly,
then filling it from history) and hands each to the local sockets. So every
member sees the room in history order, whichever worker stored a message and
whichever server a member landed on.
"""

import asyncio
import contextlib
import logging
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from app.chat import selectors
from app.chat.events import event_from_row, frame_from_event
from app.chat.presence import MemberInfo, PresenceStore, presence_store
from app.chat.protocol import dumps, presence_event_frame
from app.chat.sequencer import Sequencer
from app.ops.metrics import BROADCAST_LATENCY, ERRORS, FRAMES_OUT, GAP_FILLS

logger = logging.getLogger(__name__)

RESYNC_SECONDS = 30.0


def room_group(label: str) -> str:
    """The channel-layer group of a room's hubs."""
    return f"room.{label}"


class Member(Protocol):
    """A local socket in a room, as the hub sees it."""

    connection_id: str
    opted_in: bool
    seen_seq: int

    def info(self) -> MemberInfo:
        """Presence details of this member."""

    async def send_text(self, text: str) -> None:
        """Send one frame to the client."""


@dataclass
class RoomFeed:
    """A room's local members and its in-order stream."""

    label: str
    members: dict[str, Member] = field(default_factory=dict)
    sequencer: Sequencer[dict[str, Any]] | None = None
    early: list[dict[str, Any]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    gap_task: asyncio.Task | None = None


class Hub:
    """Subscribes this process to the rooms its sockets are in."""

    def __init__(self, layer, presence: PresenceStore, *, gap_hold: float, catchup_limit: int):
        self.layer = layer
        self.presence = presence
        self.gap_hold = gap_hold
        self.catchup_limit = catchup_limit
        self.channel_name = ""
        self.feeds: dict[str, RoomFeed] = {}
        self._group_locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task] = set()
        self._layer_failed = asyncio.Event()

    async def start(self) -> None:
        """Take a channel on the layer and start reading it."""
        # The default prefix: channels-redis reads every process-local channel
        # through one shared loop that only serves names with the same prefix.
        self.channel_name = await self.layer.new_channel()
        self._spawn(self._read_loop())
        self._spawn(self._resync_loop())

    async def join(self, label: str, member: Member, *, after: int | None) -> None:
        """Add ``member`` to ``label``; first send what it missed after ``after``."""
        while True:
            feed = await self._open_feed(label)
            async with feed.lock:
                if self.feeds.get(label) is not feed:
                    continue  # its last member left while we waited: open the room afresh
                assert feed.sequencer is not None
                feed.members[member.connection_id] = member
                member.seen_seq = feed.sequencer.next_seq - 1
                if after is not None:
                    await self._catch_up(feed, member, after)
                break
        await self._announce_presence(label, "join", member.info())

    async def leave(self, label: str, member: Member) -> None:
        """Remove ``member``; unsubscribe once the room has no local members."""
        feed = self.feeds.get(label)
        if feed is None or feed.members.pop(member.connection_id, None) is None:
            return
        if not feed.members:
            del self.feeds[label]
            self._spawn(self._unsubscribe(label))
        await self.presence.remove(label, member.connection_id)
        await self.layer.group_send(
            room_group(label),
            {"type": "room.presence", "room": label, "event": "leave", "member": member.info()},
        )

    async def room_members(self, label: str) -> list[MemberInfo]:
        """Return who is in ``label`` on every server."""
        return await self.presence.members(label)

    # ------------------------------------------------------------ subscriptions
    async def _open_feed(self, label: str) -> RoomFeed:
        feed = self.feeds.get(label)
        if feed is not None and feed.sequencer is not None:
            return feed
        async with self._group_lock(label):
            feed = self.feeds.get(label)
            if feed is None:
                feed = self.feeds[label] = RoomFeed(label)
            if feed.sequencer is None:
                await self._subscribe(feed)
        return feed

    async def _subscribe(self, feed: RoomFeed) -> None:
        try:
            await self.layer.group_add(room_group(feed.label), self.channel_name)
            last_seq = await database_sync_to_async(selectors.room_last_seq)(label=feed.label)
        except Exception:
            self.feeds.pop(feed.label, None)
            raise
        async with feed.lock:
            feed.sequencer = Sequencer(next_seq=(last_seq or 0) + 1)
            early, feed.early = feed.early, []
            for event in early:
                await self._offer(feed, event)

    async def _unsubscribe(self, label: str) -> None:
        async with self._group_lock(label):
            if label not in self.feeds:  # nobody came back in between
                await self.layer.group_discard(room_group(label), self.channel_name)

    def _group_lock(self, label: str) -> asyncio.Lock:
        return self._group_locks.setdefault(label, asyncio.Lock())

    # ------------------------------------------------------------ the stream
    async def _read_loop(self) -> None:
        backoff = 0.1
        while True:
            try:
                event = await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                ERRORS.labels(kind="layer_receive").inc()
                logger.warning("Hub could not read the channel layer (%r); retrying", error)
                self._layer_failed.set()  # a restarted Redis forgot our groups: resync
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.1
            await self._dispatch(event)

    async def _dispatch(self, event: dict[str, Any]) -> None:
        feed = self.feeds.get(event.get("room", ""))
        if feed is None:
            return
        try:
            if event["type"] == "room.message":
                async with feed.lock:
                    await self._offer(feed, event)
            elif event["type"] == "room.presence":
                await self._deliver_presence(feed, event)
        except Exception:
            ERRORS.labels(kind="hub_dispatch").inc()
            logger.exception("Hub failed to deliver %s to room %s", event["type"], feed.label)

    async def _offer(self, feed: RoomFeed, event: dict[str, Any]) -> None:
        """Push one broadcast through the room's sequencer (the feed's lock is held)."""
        if feed.sequencer is None:
            feed.early.append(event)
            return
        for ready in feed.sequencer.push(event["seq"], event):
            await self._deliver(feed, ready)
        if feed.sequencer.missing() and feed.gap_task is None:
            feed.gap_task = self._spawn(self._fill_gap_later(feed))

    async def _deliver(self, feed: RoomFeed, event: dict[str, Any]) -> None:
        text = dumps(frame_from_event(event))
        seq = event["seq"]
        for member in list(feed.members.values()):
            if seq > member.seen_seq:
                member.seen_seq = seq
                await self._send(member, text)
        if "stored_at" in event:
            BROADCAST_LATENCY.observe(max(0.0, time.time() - event["stored_at"]))

    async def _send(self, member: Member, text: str) -> None:
        try:
            await member.send_text(text)
        except Exception:  # the socket went away mid-send; its disconnect cleans up
            ERRORS.labels(kind="send").inc()
            logger.debug("Send to %s failed", member.connection_id, exc_info=True)
            return
        FRAMES_OUT.inc()

    # ------------------------------------------------------------ gaps and catch-up
    async def _fill_gap_later(self, feed: RoomFeed) -> None:
        await asyncio.sleep(self.gap_hold)
        async with feed.lock:
            feed.gap_task = None
            gap = feed.sequencer.missing() if feed.sequencer else None
            if gap is not None:
                await self._fill_from_history(feed, upto=gap[1])

    async def _fill_from_history(self, feed: RoomFeed, *, upto: int | None) -> None:
        """Deliver stored messages past the stream's position (the feed's lock is held)."""
        assert feed.sequencer is not None
        first = feed.sequencer.next_seq
        rows = await database_sync_to_async(selectors.room_messages_after)(
            label=feed.label, after=first - 1, upto=upto, limit=10_000
        )
        if rows:
            GAP_FILLS.inc()
            logger.info("Room %s: filled %d message(s) from history", feed.label, len(rows))
        for row in rows:
            for ready in feed.sequencer.push(row.seq, event_from_row(feed.label, row)):
                await self._deliver(feed, ready)
        if upto is not None and feed.sequencer.next_seq <= upto:
            logger.error("Room %s: messages %d-%d are not in history", feed.label, first, upto)
            for ready in feed.sequencer.skip_to(upto + 1):
                await self._deliver(feed, ready)

    async def _catch_up(self, feed: RoomFeed, member: Member, after: int) -> None:
        """Send ``member`` the messages after ``after`` it missed (the feed's lock is held)."""
        last = member.seen_seq
        if after >= last:
            member.seen_seq = after
            return
        first = max(after, last - self.catchup_limit)
        if first > after:
            await self._send(
                member, dumps({"type": "truncated", "after": after, "resumes_after": first})
            )
        rows = await database_sync_to_async(selectors.room_messages_after)(
            label=feed.label, after=first, upto=last, limit=self.catchup_limit
        )
        for row in rows:
            await self._send(member, dumps(frame_from_event(event_from_row(feed.label, row))))

    # ------------------------------------------------------------ presence
    async def _announce_presence(self, label: str, event: str, info: MemberInfo) -> None:
        await self.presence.add(label, [info])
        await self.layer.group_send(
            room_group(label),
            {"type": "room.presence", "room": label, "event": event, "member": info},
        )

    async def _deliver_presence(self, feed: RoomFeed, event: dict[str, Any]) -> None:
        text = dumps(presence_event_frame(event["event"], event["member"]))
        for member in list(feed.members.values()):
            if member.opted_in:
                await self._send(member, text)

    # ------------------------------------------------------------ upkeep
    async def _resync_loop(self) -> None:
        """Re-join groups (a restarted Redis forgets them), refresh presence, fetch a lost tail.

        Runs every RESYNC_SECONDS, at once when the layer failed, and again a
        second later for as long as a pass fails.
        """
        delay = RESYNC_SECONDS
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._layer_failed.wait(), delay)
            self._layer_failed.clear()
            failed = False
            for feed in list(self.feeds.values()):
                try:
                    await self._resync(feed)
                except Exception as error:
                    failed = True
                    ERRORS.labels(kind="resync").inc()
                    logger.warning("Resync of room %s failed: %r", feed.label, error)
            delay = 1.0 if failed else RESYNC_SECONDS

    async def _resync(self, feed: RoomFeed) -> None:
        await self.layer.group_add(room_group(feed.label), self.channel_name)
        await self.presence.add(feed.label, [m.info() for m in feed.members.values()])
        async with feed.lock:
            if feed.sequencer is not None:
                await self._fill_from_history(feed, upto=None)

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()
_hub_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = (
    weakref.WeakKeyDictionary()
)


async def get_hub() -> Hub:
    """Return this event loop's hub, starting it (and the in-process worker) on first use."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is not None:
        return hub
    async with _hub_locks.setdefault(loop, asyncio.Lock()):
        if loop not in _hubs:
            _hubs[loop] = await _start_hub()
    return _hubs[loop]


async def _start_hub() -> Hub:
    config = settings.PARLEY
    hub = Hub(
        get_channel_layer(),
        presence_store(),
        gap_hold=config["GAP_HOLD_SECONDS"],
        catchup_limit=config["CATCHUP_LIMIT"],
    )
    await hub.start()
    if config["INPROCESS_WORKER"]:
        from app.chat.worker import start_inprocess_worker

        hub._spawn(start_inprocess_worker())
    return hub
