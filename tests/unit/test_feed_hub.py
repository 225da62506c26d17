"""A room's feed and the hub: in-order, once-only delivery to every local member.

The feed and the hub are driven directly with recording members, the real
history over real Postgres, a fresh in-memory channel layer per test (two hubs
on one layer are two servers) and, where presence spans servers, the real Redis
from REDIS_URL. Nothing is asserted about time: waits are bounded only.
"""

import asyncio
import json
import os
import random
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer
from django.db import connections
from django.utils import timezone
from redis import asyncio as aioredis

from app.chat import services
from app.chat.events import presence_event, room_group, room_message_event
from app.chat.feed import RoomFeed
from app.chat.history import RoomHistory
from app.chat.hub import Hub
from app.chat.messages import ChatMessage
from app.chat.presence import MemoryPresence, PresenceStore, RedisPresence
from app.chat.retry import Backoff

pytestmark = pytest.mark.django_db(transaction=True)

SAFETY_TIMEOUT = 10.0  # only bounds a hang; nothing is asserted about time
NEVER = 3600.0  # a gap hold or resync period no test waits out
Frame = dict[str, Any]


# ------------------------------------------------------------------ members
class RecordingMember:
    """A socket as the feed sees it: records every frame it is sent, decoded."""

    def __init__(self, connection_id: str, *, opted_in: bool = True) -> None:
        self.connection_id = connection_id
        self.opted_in = opted_in
        self.frames: list[Frame] = []
        self._changed = asyncio.Condition()

    def info(self) -> dict[str, Any]:
        """Presence details of this member."""
        return {"id": self.connection_id, "handle": f"h-{self.connection_id}", "since": 0.0}

    async def send_text(self, text: str) -> None:
        """Record one frame."""
        async with self._changed:
            self.frames.append(json.loads(text))
            self._changed.notify_all()

    @property
    def ids(self) -> list[int]:
        """The ids of the message frames received, in order."""
        return [frame["id"] for frame in self.frames if frame["type"] == "message"]

    def of_type(self, *types: str) -> list[Frame]:
        """The frames received of the given types, in order."""
        return [frame for frame in self.frames if frame["type"] in types]

    async def wait_for(self, predicate: Callable[["RecordingMember"], bool]) -> None:
        """Wait until ``predicate(self)`` holds."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), SAFETY_TIMEOUT)

    async def wait_for_id(self, seq: int) -> None:
        """Wait until the message numbered ``seq`` (or a later one) has arrived."""
        await self.wait_for(lambda member: any(i >= seq for i in member.ids))


class GatedMember(RecordingMember):
    """A member whose sends block at ``gate`` (a slow socket); ``sending`` is set on the first."""

    def __init__(self, connection_id: str, *, opted_in: bool = True) -> None:
        super().__init__(connection_id, opted_in=opted_in)
        self.gate = asyncio.Event()
        self.sending = asyncio.Event()

    async def send_text(self, text: str) -> None:
        """Wait at the gate, then record the frame."""
        self.sending.set()
        await self.gate.wait()
        await super().send_text(text)


# ------------------------------------------------------------------ rooms and messages
@pytest.fixture
def label() -> str:
    """A room label no other test (or run) shares."""
    return f"unit-{uuid.uuid4().hex[:16]}"


@pytest.fixture(autouse=True)
async def _close_thread_connections() -> AsyncIterator[None]:
    """Close the connections history opened in its thread, so the test database can go."""
    yield
    await database_sync_to_async(connections.close_all)()


async def open_room(label: str) -> None:
    """Create the room ``label`` (if it is not there yet)."""
    await database_sync_to_async(services.room_get_or_create)(label=label)


async def store(label: str, count: int) -> list[ChatMessage]:
    """Create ``label`` if needed and store ``count`` messages in it; return them as stored."""
    await open_room(label)
    drafts = [
        ChatMessage(label=label, handle="ada", message=f"text {uuid.uuid4().hex[:8]}")
        for _ in range(count)
    ]
    return await database_sync_to_async(services.messages_store)(drafts=drafts)


def unstored(label: str, seq: int) -> ChatMessage:
    """A message numbered ``seq`` as the layer would carry it, though history never had it."""
    return ChatMessage(label=label, handle="ghost", message=f"lost {seq}").stored_as(
        seq, timezone.now()
    )


# ------------------------------------------------------------------ feeds
class Spawner:
    """The feed's ``spawn``: runs its tasks and cancels whatever is left at teardown."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()

    def __call__(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        return task

    async def cancel(self) -> None:
        """Cancel every task still running and wait for them to end."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.fixture
async def new_feed(label: str) -> AsyncIterator[Callable[..., RoomFeed]]:
    """Make a feed of ``label`` over the real history; its tasks are cancelled at teardown."""
    spawner = Spawner()

    def make(*, gap_hold: float = NEVER, catchup_limit: int = 100) -> RoomFeed:
        return RoomFeed(
            label,
            history=RoomHistory(),
            gap_hold=gap_hold,
            catchup_limit=catchup_limit,
            spawn=spawner,
        )

    yield make
    await spawner.cancel()


async def joined(feed: RoomFeed, member: RecordingMember, *, after: int | None = None) -> None:
    """Add ``member`` to ``feed`` and release it at once, as a finished handshake does."""
    assert await feed.add(member, after=after)
    await feed.release(member)


# ------------------------------------------------------------------ feed: order
async def test_messages_offered_out_of_order_are_delivered_in_sequence_each_once(
    new_feed, label: str
) -> None:
    stored = await store(label, 30)
    feed = new_feed()
    await feed.start(0)
    member = RecordingMember("m")
    await joined(feed, member)
    arrivals = stored + random.Random(7).choices(stored, k=15)  # with repeats
    random.Random(8).shuffle(arrivals)

    for message in arrivals:
        await feed.offer(message)

    assert member.ids == list(range(1, 31))


async def test_repeats_of_delivered_messages_are_ignored(new_feed, label: str) -> None:
    first, second, third = await store(label, 3)
    feed = new_feed()
    await feed.start(0)
    member = RecordingMember("m")
    await joined(feed, member)

    for message in (first, second, first, second, second, third, first):
        await feed.offer(message)

    assert member.ids == [1, 2, 3]


async def test_a_gap_is_held_then_filled_from_history(new_feed, label: str) -> None:
    stored = await store(label, 5)
    feed = new_feed(gap_hold=0.05)
    await feed.start(0)
    member = RecordingMember("m")
    await joined(feed, member)

    for message in (stored[0], stored[3], stored[4]):  # 2 and 3 never come from the layer
        await feed.offer(message)
    assert member.ids == [1]  # 4 and 5 wait behind the gap

    await member.wait_for_id(5)
    assert member.ids == [1, 2, 3, 4, 5]
    assert [frame["message"] for frame in member.frames] == [m.message for m in stored]


async def test_a_gap_history_cannot_fill_is_skipped_and_later_messages_still_arrive(
    new_feed, label: str
) -> None:
    await store(label, 1)  # history holds 1 only
    feed = new_feed(gap_hold=0.05)
    await feed.start(1)
    member = RecordingMember("m")
    await joined(feed, member)

    await feed.offer(unstored(label, 4))  # 2 and 3 are lost for good
    await feed.offer(unstored(label, 5))
    await member.wait_for_id(5)
    await feed.offer(unstored(label, 2))  # too late: skipped already
    await feed.offer(unstored(label, 6))

    assert member.ids == [4, 5, 6]


async def test_a_second_gap_is_filled_too_without_further_messages(new_feed, label: str) -> None:
    stored = await store(label, 5)
    feed = new_feed(gap_hold=0.05)
    await feed.start(0)
    member = RecordingMember("m")
    await joined(feed, member)

    for message in (stored[0], stored[2], stored[4]):  # 2 and 4 never come from the layer
        await feed.offer(message)

    await member.wait_for_id(5)
    assert member.ids == [1, 2, 3, 4, 5]


async def test_messages_offered_before_start_are_released_in_order_once_it_starts(
    new_feed, label: str
) -> None:
    stored = await store(label, 4)
    feed = new_feed()  # gaps are never filled: only the early messages can close one
    for message in (stored[2], stored[0], stored[1], stored[2]):
        await feed.offer(message)
    assert not feed.started

    await feed.start(1)  # the room's last message when the feed subscribed: 1
    live, caught_up = RecordingMember("live"), RecordingMember("caught-up")
    await joined(feed, live)
    await joined(feed, caught_up, after=1)
    await feed.offer(stored[3])

    assert live.ids == [4]  # 2 and 3 were released at start, so 4 is next in line
    assert caught_up.ids == [2, 3, 4]


# ------------------------------------------------------------------ feed: members
async def test_a_members_frames_are_held_from_add_until_release_then_arrive_in_order(
    new_feed, label: str
) -> None:
    stored = await store(label, 3)
    feed = new_feed()
    await feed.start(0)
    member = RecordingMember("m")
    assert await feed.add(member, after=None)

    for message in stored:
        await feed.offer(message)
    await feed.broadcast(json.dumps({"type": "join", "member": {"id": "x"}}), opted_in_only=True)
    assert member.frames == []

    await feed.release(member)
    assert [frame["type"] for frame in member.frames] == ["message"] * 3 + ["join"]
    assert member.ids == [1, 2, 3]


async def test_frames_delivered_during_release_are_neither_lost_nor_reordered(
    new_feed, label: str
) -> None:
    stored = await store(label, 5)
    feed = new_feed()
    await feed.start(0)
    member = GatedMember("slow")
    assert await feed.add(member, after=None)
    for message in stored[:2]:
        await feed.offer(message)

    releasing = asyncio.ensure_future(feed.release(member))
    await asyncio.wait_for(member.sending.wait(), SAFETY_TIMEOUT)  # stuck sending 1
    for message in stored[2:]:  # held for it, not sent past the frames being released
        await asyncio.wait_for(feed.offer(message), SAFETY_TIMEOUT)
    member.gate.set()
    await asyncio.wait_for(releasing, SAFETY_TIMEOUT)

    assert member.ids == [1, 2, 3, 4, 5]


async def test_a_new_member_does_not_receive_messages_from_before_it_joined(
    new_feed, label: str
) -> None:
    stored = await store(label, 4)
    feed = new_feed()
    await feed.start(0)
    early = RecordingMember("early")
    await joined(feed, early)
    for message in stored[:2]:
        await feed.offer(message)

    late = RecordingMember("late")
    await joined(feed, late)
    for message in stored[2:]:
        await feed.offer(message)

    assert early.ids == [1, 2, 3, 4]
    assert late.ids == [3, 4]


async def test_catch_up_sends_exactly_the_missed_messages_then_live_ones(
    new_feed, label: str
) -> None:
    stored = await store(label, 6)
    feed = new_feed()
    await feed.start(0)
    for message in stored[:5]:
        await feed.offer(message)

    member = RecordingMember("back")
    await joined(feed, member, after=2)
    await feed.offer(stored[5])

    assert member.ids == [3, 4, 5, 6]
    assert member.of_type("truncated") == []


async def test_catch_up_from_the_current_position_sends_nothing_missed(
    new_feed, label: str
) -> None:
    stored = await store(label, 4)
    feed = new_feed()
    await feed.start(3)

    member = RecordingMember("current")
    await joined(feed, member, after=3)
    assert member.frames == []
    await feed.offer(stored[3])

    assert member.ids == [4]


async def test_a_member_that_saw_past_the_feed_is_not_sent_those_messages_again(
    new_feed, label: str
) -> None:
    stored = await store(label, 5)
    feed = new_feed()
    await feed.start(3)  # 4 and 5 are stored, their broadcasts still on the way

    member = RecordingMember("ahead")
    await joined(feed, member, after=4)  # it saw 4 on another server
    for message in stored[3:]:
        await feed.offer(message)

    assert member.ids == [5]


async def test_catch_up_of_exactly_the_limit_is_not_truncated(new_feed, label: str) -> None:
    await store(label, 8)
    feed = new_feed(catchup_limit=3)
    await feed.start(8)

    member = RecordingMember("back")
    await joined(feed, member, after=5)

    assert [frame["type"] for frame in member.frames] == ["message"] * 3
    assert member.ids == [6, 7, 8]


async def test_catch_up_past_the_limit_sends_truncated_then_the_newest(
    new_feed, label: str
) -> None:
    stored = await store(label, 9)
    feed = new_feed(catchup_limit=3)
    await feed.start(8)

    member = RecordingMember("back")
    await joined(feed, member, after=1)
    await feed.offer(stored[8])

    assert member.frames[0] == {"type": "truncated", "after": 1, "resumes_after": 5}
    assert [frame["type"] for frame in member.frames[1:]] == ["message"] * 4
    assert member.ids == [6, 7, 8, 9]


async def test_broadcast_opted_in_only_skips_plain_members(new_feed) -> None:
    feed = new_feed()
    await feed.start(0)
    opted, plain = RecordingMember("opted"), RecordingMember("plain", opted_in=False)
    await joined(feed, opted)
    await joined(feed, plain)

    await feed.broadcast('{"type":"join"}', opted_in_only=True)
    await feed.broadcast('{"type":"leave"}', opted_in_only=False)

    assert opted.frames == [{"type": "join"}, {"type": "leave"}]
    assert plain.frames == [{"type": "leave"}]


async def test_a_removed_member_receives_nothing_more(new_feed, label: str) -> None:
    first, second = await store(label, 2)
    feed = new_feed()
    await feed.start(0)
    staying, leaving = RecordingMember("staying"), RecordingMember("leaving")
    await joined(feed, staying)
    await joined(feed, leaving)
    await feed.offer(first)

    assert feed.remove(leaving)
    assert not feed.remove(leaving)
    await feed.offer(second)

    assert staying.ids == [1, 2]
    assert leaving.ids == [1]
    assert list(feed.members) == ["staying"]


async def test_a_closed_feed_adds_nobody(new_feed) -> None:
    feed = new_feed()
    await feed.start(0)
    feed.closed = True

    assert not await feed.add(RecordingMember("m"), after=None)
    assert feed.members == {}


# ------------------------------------------------------------------ hubs
class FlakyLayer(InMemoryChannelLayer):
    """An in-memory layer whose next ``failures`` receives raise, as an unreachable Redis does."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    async def receive(self, channel: str) -> dict[str, Any]:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("the channel layer is down")
        return await super().receive(channel)


@pytest.fixture
async def new_hub() -> AsyncIterator[Callable[..., Coroutine[Any, Any, Hub]]]:
    """Start hubs (servers); every task they run is cancelled at teardown."""
    hubs: list[Hub] = []

    async def start(
        layer: InMemoryChannelLayer,
        presence: PresenceStore | None = None,
        *,
        gap_hold: float = 0.1,
        catchup_limit: int = 100,
    ) -> Hub:
        hub = Hub(
            layer,
            presence if presence is not None else MemoryPresence(),
            history=RoomHistory(),
            gap_hold=gap_hold,
            catchup_limit=catchup_limit,
            resync_seconds=NEVER,  # resyncs only when the layer failed
            receive_backoff=Backoff(first=0.01, maximum=0.05),
        )
        hubs.append(hub)
        await hub.start()
        return hub

    yield start
    tasks = [task for hub in hubs for task in hub._tasks]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
async def redis_presence(label: str) -> AsyncIterator[Callable[[], RedisPresence]]:
    """Make presence stores on the real Redis, one client each (a server each)."""
    clients: list[aioredis.Redis] = []

    def make() -> RedisPresence:
        client = aioredis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
        clients.append(client)
        return RedisPresence(client, ttl=30)

    yield make
    if clients:
        await clients[0].delete(RedisPresence.key(label))
    for client in clients:
        await client.aclose()


def subscribed(layer: InMemoryChannelLayer, hub: Hub, label: str) -> bool:
    """Whether ``hub``'s channel is in ``label``'s group on ``layer``."""
    return hub.channel_name in layer.groups.get(room_group(label), {})


async def settle(hub: Hub) -> None:
    """Wait for the tasks ``hub`` has spawned besides its loops (unsubscribes, gap fills)."""
    loops = {"_read_loop", "_resync_loop"}
    side = [task for task in hub._tasks if task.get_coro().__name__ not in loops]
    await asyncio.wait_for(asyncio.gather(*side), SAFETY_TIMEOUT)


async def broadcast(layer: InMemoryChannelLayer, *stored: ChatMessage) -> None:
    """Send each stored message to its room's group, as a worker does."""
    for message in stored:
        await layer.group_send(room_group(message.label), room_message_event(message))


async def test_join_subscribes_the_rooms_group_and_room_messages_arrive_in_order(
    new_hub, label: str
) -> None:
    await open_room(label)
    layer = InMemoryChannelLayer()
    hub = await new_hub(layer)
    member = RecordingMember("m", opted_in=False)

    await hub.join(label, member, after=None)
    await hub.release(label, member)
    assert subscribed(layer, hub, label)

    stored = await store(label, 5)
    await broadcast(layer, stored[2], stored[0], stored[2], stored[1], stored[0], stored[4])
    await broadcast(layer, stored[3], stored[1])
    await member.wait_for_id(5)
    sentinel = await store(label, 1)  # whatever came before it has been dispatched
    await broadcast(layer, *sentinel)
    await member.wait_for_id(6)

    assert member.ids == [1, 2, 3, 4, 5, 6]


async def test_a_joining_member_catches_up_through_the_hub(new_hub, label: str) -> None:
    await store(label, 4)
    layer = InMemoryChannelLayer()
    hub = await new_hub(layer)
    member = RecordingMember("m", opted_in=False)

    await hub.join(label, member, after=1)
    await hub.release(label, member)
    await broadcast(layer, *await store(label, 1))
    await member.wait_for_id(5)

    assert member.ids == [2, 3, 4, 5]


async def test_presence_changes_reach_opted_in_members_only_across_two_hubs(
    new_hub, redis_presence, label: str
) -> None:
    await open_room(label)
    layer = InMemoryChannelLayer()
    server_a = await new_hub(layer, redis_presence())
    server_b = await new_hub(layer, redis_presence())
    opted, plain = RecordingMember("opted"), RecordingMember("plain", opted_in=False)
    for member in (opted, plain):
        await server_a.join(label, member, after=None)
        await server_a.release(label, member)
    visitor = RecordingMember("visitor")

    await server_b.join(label, visitor, after=None)
    await server_b.release(label, visitor)
    await server_b.leave(label, visitor)
    await opted.wait_for(lambda m: len(m.of_type("leave")) == 1)
    await broadcast(layer, *await store(label, 1))  # after the presence events, in order
    await plain.wait_for_id(1)

    changes = [(f["type"], f["member"]["id"]) for f in opted.of_type("join", "leave")]
    assert changes[-2:] == [("join", "visitor"), ("leave", "visitor")]
    assert opted.of_type("leave")[0]["member"] == visitor.info()
    assert plain.of_type("join", "leave") == []
    assert plain.ids == [1]


async def test_room_members_lists_the_members_of_both_hubs(
    new_hub, redis_presence, label: str
) -> None:
    await open_room(label)
    layer = InMemoryChannelLayer()
    server_a = await new_hub(layer, redis_presence())
    server_b = await new_hub(layer, redis_presence())
    on_a, on_b = RecordingMember("on-a"), RecordingMember("on-b", opted_in=False)
    await server_a.join(label, on_a, after=None)
    await server_b.join(label, on_b, after=None)

    for hub in (server_a, server_b):
        assert {member["id"] for member in await hub.room_members(label)} == {"on-a", "on-b"}
    await server_b.leave(label, on_b)
    assert [member["id"] for member in await server_a.room_members(label)] == ["on-a"]


async def test_the_last_leave_unsubscribes_and_a_later_join_reopens_the_room(
    new_hub, label: str
) -> None:
    await open_room(label)
    layer = InMemoryChannelLayer()
    hub = await new_hub(layer)
    first = RecordingMember("first", opted_in=False)
    await hub.join(label, first, after=None)
    await hub.release(label, first)

    await hub.leave(label, first)
    assert label not in hub.feeds
    await settle(hub)
    assert not subscribed(layer, hub, label)

    second = RecordingMember("second", opted_in=False)
    await hub.join(label, second, after=None)
    await hub.release(label, second)
    assert subscribed(layer, hub, label)
    await broadcast(layer, *await store(label, 1))
    await second.wait_for_id(1)

    assert second.ids == [1]
    assert first.ids == []


@pytest.mark.parametrize("leave_first", [True, False])
async def test_a_join_racing_the_last_leave_ends_joined_and_receiving(
    new_hub, label: str, leave_first: bool
) -> None:
    await open_room(label)
    layer = InMemoryChannelLayer()
    hub = await new_hub(layer)
    leaving, coming = RecordingMember("leaving"), RecordingMember("coming")
    await hub.join(label, leaving, after=None)
    await hub.release(label, leaving)

    leave, join = hub.leave(label, leaving), hub.join(label, coming, after=None)
    await asyncio.gather(*((leave, join) if leave_first else (join, leave)))
    await hub.release(label, coming)
    await settle(hub)  # any unsubscribe has run

    await assert_open_to_only(hub, layer, label, coming, next_id=1)


async def assert_open_to_only(hub, layer, label: str, member, *, next_id: int) -> None:
    """The room is subscribed with ``member`` alone in it, and the next message reaches it."""
    assert list(hub.feeds[label].members) == [member.connection_id]
    assert subscribed(layer, hub, label)
    await broadcast(layer, *await store(label, 1))
    await member.wait_for_id(next_id)
    assert member.ids == [next_id]


async def test_a_join_waiting_on_a_feed_its_last_member_leaves_reopens_the_room(
    new_hub, label: str
) -> None:
    await open_room(label)
    layer = InMemoryChannelLayer()
    hub = await new_hub(layer)
    slow = GatedMember("slow", opted_in=False)
    await hub.join(label, slow, after=None)
    await hub.release(label, slow)
    await broadcast(layer, *await store(label, 1))
    await asyncio.wait_for(slow.sending.wait(), SAFETY_TIMEOUT)  # the feed is busy sending 1

    coming = RecordingMember("coming", opted_in=False)
    joining = asyncio.ensure_future(hub.join(label, coming, after=None))
    for _ in range(5):
        await asyncio.sleep(0)  # let the join reach the busy feed
    await hub.leave(label, slow)
    slow.gate.set()
    await asyncio.wait_for(joining, SAFETY_TIMEOUT)
    await hub.release(label, coming)

    await settle(hub)  # the unsubscribe has run

    await assert_open_to_only(hub, layer, label, coming, next_id=2)


async def test_the_read_loop_rides_out_failed_receives_and_resync_restores_group_and_tail(
    new_hub, label: str
) -> None:
    await open_room(label)
    layer = FlakyLayer()
    hub = await new_hub(layer)
    member = RecordingMember("m")
    await hub.join(label, member, after=None)
    await hub.release(label, member)

    # Redis restarts: it forgets the group, so a message broadcast meanwhile reaches nobody.
    await layer.group_discard(room_group(label), hub.channel_name)
    await broadcast(layer, *await store(label, 1))
    layer.failures = 3
    await layer.send(hub.channel_name, presence_event("elsewhere", "join", {"id": "x"}))
    await member.wait_for_id(1)  # fetched from history by the resync

    assert subscribed(layer, hub, label)
    # Presence comes through the read loop only (no resync fetches it): it read past the faults.
    await layer.group_send(room_group(label), presence_event(label, "join", {"id": "y"}))
    await member.wait_for(lambda m: "y" in [f["member"]["id"] for f in m.of_type("join")])
    assert layer.failures == 0
    assert member.ids == [1]


class SlowLayer(FlakyLayer):
    """A flaky layer whose ``group_add`` waits at ``gate`` once it is given one (a slow Redis)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate: asyncio.Event | None = None
        self.adding = asyncio.Event()

    async def group_add(self, group: str, channel: str) -> None:
        if self.gate is not None:
            self.adding.set()
            await self.gate.wait()
        await super().group_add(group, channel)


async def test_a_room_left_during_a_resync_pass_stays_unsubscribed(new_hub, label: str) -> None:
    first, tail = f"{label}-first", f"{label}-tail"
    for room in (first, label, tail):
        await open_room(room)
    layer = SlowLayer()
    hub = await new_hub(layer)
    members = {room: RecordingMember(f"in-{room}", opted_in=False) for room in (first, label, tail)}
    for room, member in members.items():  # resynced in this order
        await hub.join(room, member, after=None)
        await hub.release(room, member)

    layer.gate = asyncio.Event()
    layer.failures = 1  # the next receive fails: a resync pass starts
    await layer.send(hub.channel_name, presence_event("elsewhere", "join", {"id": "x"}))
    await asyncio.wait_for(layer.adding.wait(), SAFETY_TIMEOUT)  # the pass is on `first`
    await hub.leave(label, members[label])
    await settle(hub)  # its unsubscribe has run
    assert not subscribed(layer, hub, label)
    await store(tail, 1)  # broadcast lost: only the pass's fill of `tail` delivers it
    layer.gate.set()
    await members[tail].wait_for_id(1)  # the pass is over

    assert label not in hub.feeds
    assert not subscribed(layer, hub, label)
