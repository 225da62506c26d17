"""One channel-layer subscription per room per process, fanned out to its sockets.

Workers send each stored message once to the room's group. On every
interface server the group's only member is that server's hub, which hands
the message to the room's feed; the feed releases the room's messages
strictly in sequence to its local sockets. So every member sees the room in
history order, whichever worker stored a message and whichever server a
member landed on.
"""

import asyncio
import contextlib
import functools
import logging
import math
import random
import time
from collections.abc import Coroutine
from typing import Any

from app.chat.events import (
    Event,
    MemberInfo,
    message_from_room_event,
    presence_event,
    room_group,
)
from app.chat.exceptions import GoingAway
from app.chat.feed import Member, RoomFeed
from app.chat.history import RoomHistory
from app.chat.presence import PresenceStore
from app.chat.protocol import dumps, presence_event_frame
from app.chat.retry import Backoff, retry
from app.ops.metrics import BROADCAST_LATENCY, ERRORS

logger = logging.getLogger(__name__)


class Hub:
    """This process's subscription to the rooms its sockets are in: one feed per room."""

    def __init__(
        self,
        layer,
        presence: PresenceStore,
        *,
        history: RoomHistory,
        gap_hold: float,
        catchup_limit: int,
        resync_seconds: float,
        receive_backoff: Backoff,
    ) -> None:
        self.layer = layer
        self.presence = presence
        self.history = history
        self._new_feed = functools.partial(
            RoomFeed,
            history=history,
            gap_hold=gap_hold,
            catchup_limit=catchup_limit,
            spawn=self.spawn,
        )
        self.resync_seconds = resync_seconds
        self.receive_backoff = receive_backoff
        self.channel_name = ""
        self.feeds: dict[str, RoomFeed] = {}
        self._group_locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task] = set()
        self._layer_failed = asyncio.Event()
        self.stopping = False  # set by stop(): no more joins
        self._unsubscribes: set[asyncio.Task] = set()

    async def start(self) -> None:
        """Take a channel on the layer and start reading it."""
        # The default prefix: channels-redis reads every process-local channel
        # through one shared loop that only serves names with the same prefix.
        self.channel_name = await self.layer.new_channel()
        self.spawn(self._read_loop())
        self.spawn(self._resync_loop())

    async def join(self, label: str, member: Member, *, after: int | None) -> None:
        """Add ``member`` to ``label``; first send what it missed after ``after``.

        Its frames are held until ``release``. All or nothing: when a step fails
        (Redis, Postgres), the member is taken out again before the error rises.
        """
        if self.stopping:
            raise GoingAway()
        try:
            await self._add(label, member, after=after)
            await self.presence.add(label, [member.info()])
            await self.layer.group_send(
                room_group(label), presence_event(label, "join", member.info())
            )
        except BaseException:
            self._drop(label, member)
            raise

    async def release(self, label: str, member: Member) -> None:
        """Send ``member`` what was held for it since it joined; from now on send directly."""
        feed = self.feeds.get(label)
        if feed is not None:
            await feed.release(member)

    async def leave(self, label: str, member: Member) -> None:
        """Remove ``member``, then tell the room; unsubscribe once it has no local members.

        Telling is best effort: in a Redis outage the member is gone here all
        the same, and its presence entry ages out after the presence TTL.
        """
        if not self._drop(label, member):
            return
        try:
            await self.presence.remove(label, member.connection_id)
            await self.layer.group_send(
                room_group(label), presence_event(label, "leave", member.info())
            )
        except Exception as error:
            ERRORS.labels(kind="leave").inc()
            logger.warning("Room %s: could not announce a leave (%r)", label, error)

    async def room_members(self, label: str) -> list[MemberInfo]:
        """Return who is in ``label`` on every server."""
        return await self.presence.members(label)

    def members(self) -> list[Member]:
        """Every socket in every room of this process."""
        return [member for feed in list(self.feeds.values()) for member in feed.members.values()]

    async def stop(self, *, close_within: float, wait: float) -> None:
        """Refuse joins, ask every socket to reconnect elsewhere, wait for them to leave.

        Sockets are closed in batches spread over ``close_within`` seconds (with
        jitter), so their clients do not all reconnect in the same instant; each
        socket's disconnect hands its unacknowledged messages to the workers and
        leaves its room. Waits ``wait`` seconds more, at most, for the last leave.
        """
        self.stopping = True
        members = self.members()
        batches = min(len(members), math.ceil(close_within * 10))  # ten a second at most
        for index in range(batches):
            if index:
                await asyncio.sleep(close_within / batches * random.uniform(0.5, 1.5))  # noqa: S311
            batch = members[index::batches]
            await asyncio.gather(*(member.go_away() for member in batch), return_exceptions=True)
        try:
            async with asyncio.timeout(wait):
                while self.feeds:  # noqa: ASYNC110 (a leave signals no event)
                    await asyncio.sleep(0.05)
                await asyncio.gather(*self._unsubscribes, return_exceptions=True)
        except TimeoutError:
            logger.error("Stopped with %d socket(s) still open", len(self.members()))

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task:
        """Run ``coroutine`` as a task the hub keeps alive."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------ subscriptions
    async def _add(self, label: str, member: Member, *, after: int | None) -> None:
        while True:
            feed = await self._open_feed(label)
            if await feed.add(member, after=after):
                return
            # Its last member left while we waited: open the room afresh.

    def _drop(self, label: str, member: Member) -> bool:
        """Take ``member`` out of the room's feed (if there); let an empty room go."""
        feed = self.feeds.get(label)
        if feed is None:
            return False
        removed = feed.remove(member)
        if not feed.members and feed.started:
            feed.closed = True
            del self.feeds[label]
            task = self.spawn(self._unsubscribe(label))
            self._unsubscribes.add(task)
            task.add_done_callback(self._unsubscribes.discard)
        return removed

    async def _open_feed(self, label: str) -> RoomFeed:
        feed = self.feeds.get(label)
        if feed is not None and feed.started:
            return feed
        async with self._group_lock(label):
            feed = self.feeds.get(label)
            if feed is None:
                feed = self.feeds[label] = self._new_feed(label)
            if not feed.started:
                await self._subscribe(feed)
        return feed

    async def _subscribe(self, feed: RoomFeed) -> None:
        try:
            await self.layer.group_add(room_group(feed.label), self.channel_name)
            last_seq = await self.history.last_seq(feed.label)
        except Exception:
            self.feeds.pop(feed.label, None)
            raise
        await feed.start(last_seq or 0)

    async def _unsubscribe(self, label: str) -> None:
        async with self._group_lock(label):
            if label in self.feeds:  # somebody came back in between
                return
            try:
                await self.layer.group_discard(room_group(label), self.channel_name)
            except Exception as error:  # the membership expires with the layer's group_expiry
                ERRORS.labels(kind="unsubscribe").inc()
                logger.warning("Room %s: could not leave its group (%r)", label, error)

    def _group_lock(self, label: str) -> asyncio.Lock:
        return self._group_locks.setdefault(label, asyncio.Lock())

    # ------------------------------------------------------------ the stream
    async def _read_loop(self) -> None:
        while True:
            event = await retry(
                lambda: self.layer.receive(self.channel_name),
                backoff=self.receive_backoff,
                on_retry=self._receive_failed,
            )
            await self._dispatch(event)

    def _receive_failed(self, error: BaseException, delay: float) -> None:
        ERRORS.labels(kind="layer_receive").inc()
        logger.warning("Hub could not read the channel layer (%r); retrying", error)
        self._layer_failed.set()  # a restarted Redis forgot our groups: resync

    async def _dispatch(self, event: Event) -> None:
        feed = self.feeds.get(event.get("room", ""))
        if feed is None:
            return
        try:
            if event["type"] == "room.message":
                await feed.offer(message_from_room_event(event))
                if "stored_at" in event:
                    BROADCAST_LATENCY.observe(max(0.0, time.time() - event["stored_at"]))
            elif event["type"] == "room.presence":
                frame = presence_event_frame(event["event"], event["member"])
                await feed.broadcast(dumps(frame), opted_in_only=True)
        except Exception:
            ERRORS.labels(kind="hub_dispatch").inc()
            logger.exception("Hub failed to deliver %s to room %s", event["type"], feed.label)

    # ------------------------------------------------------------ upkeep
    async def _resync_loop(self) -> None:
        """Re-join groups (a restarted Redis forgets them), refresh presence, fetch a lost tail.

        Runs every ``resync_seconds``, at once when the layer failed, and again
        a second later for as long as a pass fails.
        """
        delay = self.resync_seconds
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
            delay = 1.0 if failed else self.resync_seconds

    async def _resync(self, feed: RoomFeed) -> None:
        async with self._group_lock(feed.label):
            if self.feeds.get(feed.label) is not feed:
                return  # its last member left during this pass: stay unsubscribed
            await self.layer.group_add(room_group(feed.label), self.channel_name)
        await self.presence.add(feed.label, [m.info() for m in feed.members.values()])
        await feed.fill_tail()
