"""The persist path: PersistBatcher, and PersistWorker reading the persist channel into it.

Real parts throughout: a fresh in-memory channel layer per test and real
Postgres. Broadcasts are read by subscribing a channel to the room's group,
as a hub does; acks are read off each sender's reply channel.
"""

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, channel_layers
from channels.routing import ChannelNameRouter
from django.db import OperationalError, connections

from app.chat import batcher as batcher_module
from app.chat import services
from app.chat.batcher import PersistBatcher
from app.chat.events import persist_event, persist_many_event, room_group
from app.chat.messages import ChatMessage
from app.chat.models import Message
from app.chat.retry import Backoff
from app.chat.worker import PersistConsumer, PersistWorker

pytestmark = pytest.mark.django_db(transaction=True)

SAFETY_TIMEOUT = 30.0  # only bounds a hang; nothing is asserted about time
PERSIST = "chat.persist"
TINY = Backoff(first=0.001, maximum=0.01)  # ride out faults without slowing a run
FEW = Backoff(first=0.001, maximum=0.01, retries=3)
FOREVER = 3600.0  # a batch window no test waits out
TOO_LONG_CLIENT_ID = "x" * 65  # the column holds 64: Postgres raises DataError


# ------------------------------------------------------------------ the layer
def new_layer(
    layer_class: type[InMemoryChannelLayer] = InMemoryChannelLayer, **kwargs: Any
) -> InMemoryChannelLayer:
    """A fresh in-memory layer, roomy enough that no test's burst is refused or expires."""
    return layer_class(capacity=10_000, expiry=3600, **kwargs)


def install(monkeypatch: pytest.MonkeyPatch, layer: InMemoryChannelLayer) -> InMemoryChannelLayer:
    """Make ``layer`` the default one: a channels consumer sends on the default layer."""
    monkeypatch.setitem(channel_layers.backends, DEFAULT_CHANNEL_LAYER, layer)
    return layer


@pytest.fixture
def layer(monkeypatch: pytest.MonkeyPatch) -> InMemoryChannelLayer:
    """This test's own in-memory layer (also the default, for the worker's consumer)."""
    return install(monkeypatch, new_layer())


def queued(layer: InMemoryChannelLayer, channel: str) -> int:
    """How many messages wait on ``channel`` (read off the in-memory layer's own queue)."""
    queue = layer.channels.get(channel)
    return 0 if queue is None else queue.qsize()


async def take_queued(layer: InMemoryChannelLayer, channel: str) -> list[dict]:
    """Every message waiting on ``channel`` now, without waiting for more."""
    return [await layer.receive(channel) for _ in range(queued(layer, channel))]


async def receive_many(layer: InMemoryChannelLayer, channel: str, count: int) -> list[dict]:
    """The next ``count`` messages on ``channel``, waiting for each as long as it takes."""
    return [await asyncio.wait_for(layer.receive(channel), SAFETY_TIMEOUT) for _ in range(count)]


async def subscribe(layer: InMemoryChannelLayer, label: str) -> str:
    """A new channel in ``label``'s room group, as a hub's channel would be."""
    channel = await layer.new_channel()
    await layer.group_add(room_group(label), channel)
    return channel


# ------------------------------------------------------------------ the database
async def make_room(label: str) -> None:
    """Create room ``label``, as opening its page does."""
    await database_sync_to_async(services.room_get_or_create)(label=label)


@database_sync_to_async
def rows(label: str) -> list[tuple[int, str, str | None]]:
    """``label``'s stored messages as (seq, text, client_id), in seq order."""
    messages = Message.objects.filter(room__label=label).order_by("seq")
    return list(messages.values_list("seq", "message", "client_id"))


@database_sync_to_async
def stored_count() -> int:
    """How many messages are stored, in every room."""
    return Message.objects.count()


async def wait_until(condition: Callable[[], bool | Awaitable[bool]]) -> None:
    """Poll ``condition`` (plain or async) until it holds (SAFETY_TIMEOUT at most)."""
    async with asyncio.timeout(SAFETY_TIMEOUT):
        while not await holds(condition):  # noqa: ASYNC110 (rows and queues signal nothing)
            await asyncio.sleep(0.01)


async def holds(condition: Callable[[], bool | Awaitable[bool]]) -> bool:
    """Whether ``condition`` holds now, awaiting it if it is async."""
    result = condition()
    return await result if inspect.isawaitable(result) else result


@pytest.fixture(autouse=True)
async def _clean_up() -> AsyncIterator[None]:
    """Cancel what a test left running (batchers, consumers), then close the thread's connections.

    Workers and batchers keep a task each after they are done with; the
    database thread's connection must close so the test database can go.
    """
    before = asyncio.all_tasks()
    yield
    leftovers = asyncio.all_tasks() - before - {asyncio.current_task()}
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
    await database_sync_to_async(connections.close_all)()


def draft(
    label: str, text: str, *, client_id: str | None = None, reply_channel: str | None = None
) -> ChatMessage:
    """A message by ada, as an interface server would send it to be stored."""
    return ChatMessage(
        label=label, handle="ada", message=text, client_id=client_id, reply_channel=reply_channel
    )


def acks(events: list[dict]) -> list[tuple[str | None, int, bool]]:
    """The (client_id, seq, duplicate) of each ``chat.ack`` event, checking its type."""
    assert {event["type"] for event in events} <= {"chat.ack"}
    return [(event["client_id"], event["seq"], event["duplicate"]) for event in events]


# ------------------------------------------------------------------ the batcher
def new_batcher(layer, *, batch_size: int = 50, window: float = 0.005) -> PersistBatcher:
    """A batcher on ``layer`` that retries briefly (a real outage is no part of these tests)."""
    return PersistBatcher(
        layer, batch_size=batch_size, window=window, store_backoff=FEW, send_backoff=FEW
    )


async def submit_all(batcher: PersistBatcher, messages: list[ChatMessage]) -> None:
    """Submit ``messages`` back to back (the batcher's task cannot run in between)."""
    for message in messages:
        await batcher.submit(message)


async def settle(batcher: PersistBatcher) -> None:
    """Wait until all submitted to ``batcher`` is stored and announced."""
    await asyncio.wait_for(batcher.wait_idle(), SAFETY_TIMEOUT)


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The texts of each call the batcher makes to the (real) ``messages_store``, in order."""
    seen: list[list[str]] = []

    def recording_store(*, drafts: list[ChatMessage]) -> list[ChatMessage]:
        seen.append([item.message for item in drafts])
        return services.messages_store(drafts=drafts)

    monkeypatch.setattr(batcher_module, "messages_store", recording_store)
    return seen


async def test_messages_submitted_together_are_stored_as_one_batch_numbered_in_order(
    layer, batches
) -> None:
    await make_room("r")
    batcher = new_batcher(layer, window=FOREVER, batch_size=5)
    texts = [f"m{n}" for n in range(1, 6)]

    await submit_all(batcher, [draft("r", text) for text in texts])
    await settle(batcher)

    assert batches == [texts]
    assert await rows("r") == [(n, f"m{n}", None) for n in range(1, 6)]


async def test_a_batch_waits_within_its_window_for_messages_submitted_after_it_began(
    layer, batches
) -> None:
    await make_room("r")
    batcher = new_batcher(layer, window=FOREVER, batch_size=3)
    await batcher.submit(draft("r", "first"))
    await wait_until(batcher.queue.empty)  # the batch has begun

    await batcher.submit(draft("r", "second"))
    await asyncio.sleep(0)
    await batcher.submit(draft("r", "third"))
    await settle(batcher)

    assert batches == [["first", "second", "third"]]
    assert [seq for seq, *_ in await rows("r")] == [1, 2, 3]


async def test_a_batch_not_full_is_stored_once_its_window_runs_out(layer, batches) -> None:
    await make_room("r")
    batcher = new_batcher(layer, window=0.01, batch_size=100)

    await batcher.submit(draft("r", "alone"))
    await settle(batcher)
    await batcher.submit(draft("r", "later"))
    await settle(batcher)

    assert batches == [["alone"], ["later"]]
    assert await rows("r") == [(1, "alone", None), (2, "later", None)]


async def test_batch_size_caps_a_batch(layer, batches) -> None:
    await make_room("r")
    batcher = new_batcher(layer, window=0.01, batch_size=3)
    texts = [f"m{n}" for n in range(1, 8)]

    await submit_all(batcher, [draft("r", text) for text in texts])
    await settle(batcher)

    assert batches == [texts[0:3], texts[3:6], texts[6:7]]
    assert await rows("r") == [(n, f"m{n}", None) for n in range(1, 8)]


async def test_each_new_message_is_broadcast_once_to_its_rooms_group(layer) -> None:
    await make_room("a")
    await make_room("b")
    hub_a, hub_b = await subscribe(layer, "a"), await subscribe(layer, "b")
    batcher = new_batcher(layer)

    await submit_all(
        batcher,
        [draft("a", "a1", client_id="c1"), draft("b", "b1"), draft("a", "a2", client_id="c2")],
    )
    await settle(batcher)

    in_a, in_b = await take_queued(layer, hub_a), await take_queued(layer, hub_b)
    assert [event["type"] for event in in_a + in_b] == ["room.message"] * 3
    assert [(e["room"], e["seq"], e["message"], e["client_id"]) for e in in_a] == [
        ("a", 1, "a1", "c1"),
        ("a", 2, "a2", "c2"),
    ]
    assert [(e["room"], e["seq"], e["message"], e["handle"]) for e in in_b] == [
        ("b", 1, "b1", "ada")
    ]


async def test_each_sender_is_acked_on_its_reply_channel_with_the_stored_seq(layer) -> None:
    await make_room("r")
    alice, bob = await layer.new_channel(), await layer.new_channel()
    batcher = new_batcher(layer)

    await submit_all(
        batcher,
        [
            draft("r", "one", client_id="a1", reply_channel=alice),
            draft("r", "two", client_id="b1", reply_channel=bob),
            draft("r", "three"),  # nobody waits for an ack of this one
            draft("r", "four", client_id="a2", reply_channel=alice),
        ],
    )
    await settle(batcher)

    assert {name for name in list(layer.channels) if queued(layer, name)} == {alice, bob}
    assert acks(await take_queued(layer, alice)) == [("a1", 1, False), ("a2", 4, False)]
    assert acks(await take_queued(layer, bob)) == [("b1", 2, False)]


async def test_a_resent_client_id_is_stored_once_acked_as_a_duplicate_and_broadcast_as_stored(
    layer,
) -> None:
    await make_room("r")
    hub, sender = await subscribe(layer, "r"), await layer.new_channel()
    batcher = new_batcher(layer)

    await batcher.submit(draft("r", "first", client_id="c1", reply_channel=sender))
    await settle(batcher)
    await batcher.submit(draft("r", "resent", client_id="c1", reply_channel=sender))
    await settle(batcher)

    assert await rows("r") == [(1, "first", "c1")]
    assert acks(await take_queued(layer, sender)) == [("c1", 1, False), ("c1", 1, True)]
    # Broadcast again (the first broadcast may have died with its worker), as stored.
    events = await take_queued(layer, hub)
    assert [(event["seq"], event["message"]) for event in events] == [(1, "first"), (1, "first")]


async def test_a_client_id_repeated_within_one_batch_is_stored_once(layer) -> None:
    await make_room("r")
    hub, sender = await subscribe(layer, "r"), await layer.new_channel()
    batcher = new_batcher(layer)

    await submit_all(
        batcher,
        [
            draft("r", "first", client_id="c1", reply_channel=sender),
            draft("r", "resent", client_id="c1", reply_channel=sender),
        ],
    )
    await settle(batcher)

    assert await rows("r") == [(1, "first", "c1")]
    assert acks(await take_queued(layer, sender)) == [("c1", 1, False), ("c1", 1, True)]
    events = await take_queued(layer, hub)
    assert [(event["seq"], event["message"]) for event in events] == [(1, "first"), (1, "first")]


async def test_a_message_the_database_refuses_does_not_sink_the_rest_of_its_batch(
    layer, batches, caplog: pytest.LogCaptureFixture
) -> None:
    await make_room("r")
    hub, sender = await subscribe(layer, "r"), await layer.new_channel()
    batcher = new_batcher(layer)

    with caplog.at_level(logging.ERROR, logger="app.chat.batcher"):
        await submit_all(
            batcher,
            [
                draft("r", "before", client_id="c1", reply_channel=sender),
                draft("r", "refused", client_id=TOO_LONG_CLIENT_ID, reply_channel=sender),
                draft("r", "after", client_id="c3", reply_channel=sender),
            ],
        )
        await settle(batcher)

    assert batches[0] == ["before", "refused", "after"]  # tried as one batch first
    assert await rows("r") == [(1, "before", "c1"), (2, "after", "c3")]
    assert acks(await take_queued(layer, sender)) == [("c1", 1, False), ("c3", 2, False)]
    assert [event["seq"] for event in await take_queued(layer, hub)] == [1, 2]
    assert "Database refused a message for room 'r'" in caplog.text


async def test_a_database_blip_while_isolating_a_refused_message_loses_none_of_the_rest(
    layer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_room("r")
    hub, sender = await subscribe(layer, "r"), await layer.new_channel()
    calls: list[list[str]] = []

    def store_dropping_the_third_call(*, drafts: list[ChatMessage]) -> list[ChatMessage]:
        calls.append([item.message for item in drafts])
        if len(calls) == 3:  # the whole batch, "before" alone, then "after": the link drops
            raise OperationalError("server closed the connection unexpectedly")
        return services.messages_store(drafts=drafts)

    monkeypatch.setattr(batcher_module, "messages_store", store_dropping_the_third_call)
    batcher = new_batcher(layer)
    await submit_all(
        batcher,
        [
            draft("r", "before", client_id="c1", reply_channel=sender),
            draft("r", "after", client_id="c2", reply_channel=sender),
            draft("r", "refused", client_id=TOO_LONG_CLIENT_ID, reply_channel=sender),
        ],
    )
    await settle(batcher)

    assert calls[1:] == [["before"], ["after"], ["after"], ["refused"]]  # "after" retried
    assert await rows("r") == [(1, "before", "c1"), (2, "after", "c2")]
    assert acks(await take_queued(layer, sender)) == [("c1", 1, False), ("c2", 2, False)]
    assert [event["seq"] for event in await take_queued(layer, hub)] == [1, 2]


async def test_messages_for_an_unknown_room_are_dropped_without_sinking_the_batch(layer) -> None:
    await make_room("real")
    ghost_hub, ghost_sender = await subscribe(layer, "ghost"), await layer.new_channel()
    real_sender = await layer.new_channel()
    batcher = new_batcher(layer)

    await submit_all(
        batcher,
        [
            draft("ghost", "lost", client_id="g1", reply_channel=ghost_sender),
            draft("real", "kept", client_id="r1", reply_channel=real_sender),
        ],
    )
    await settle(batcher)

    assert await rows("real") == [(1, "kept", "r1")]
    assert await rows("ghost") == []
    assert acks(await take_queued(layer, real_sender)) == [("r1", 1, False)]
    assert queued(layer, ghost_sender) == 0
    assert queued(layer, ghost_hub) == 0


async def test_wait_idle_returns_at_once_when_nothing_was_submitted(layer) -> None:
    batcher = new_batcher(layer)

    await settle(batcher)

    assert await stored_count() == 0


async def test_wait_idle_returns_only_once_everything_submitted_is_stored_and_announced(
    layer,
) -> None:
    await make_room("a")
    await make_room("b")
    hubs = {label: await subscribe(layer, label) for label in ("a", "b")}
    sender = await layer.new_channel()
    batcher = new_batcher(layer, batch_size=4, window=0.001)
    messages = [
        draft("ab"[n % 2], f"m{n}", client_id=f"c{n}", reply_channel=sender) for n in range(30)
    ]

    await submit_all(batcher, messages)
    await settle(batcher)

    # Nothing more is awaited: all of it must be there already.
    assert await stored_count() == 30
    assert queued(layer, sender) == 30
    assert queued(layer, hubs["a"]) == queued(layer, hubs["b"]) == 15
    for label in ("a", "b"):
        assert [seq for seq, *_ in await rows(label)] == list(range(1, 16))


# ------------------------------------------------------------------ the worker
class RunningWorker:
    """A ``PersistWorker`` on the persist channel of a layer, running ``arun`` in a task."""

    def __init__(
        self,
        layer: InMemoryChannelLayer,
        *,
        batch_size: int = 10,
        window: float = 0.005,
        max_pending: int = 100,
    ) -> None:
        consumer = PersistConsumer.as_asgi(
            batch_size=batch_size, window=window, store_backoff=FEW, send_backoff=FEW
        )
        self.worker = PersistWorker(
            application=ChannelNameRouter({PERSIST: consumer}),
            channels=[PERSIST],
            channel_layer=layer,
            receive_backoff=TINY,
            max_pending=max_pending,
            drain_seconds=SAFETY_TIMEOUT,
            handle_signals=False,
        )
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> "RunningWorker":
        self.task = asyncio.create_task(self.worker.arun())
        return self

    async def stop(self) -> None:
        """Stop the worker and return once ``arun`` has (it drains first)."""
        self.worker.stop()
        await asyncio.wait_for(self.task, SAFETY_TIMEOUT)

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the worker unless the test already has."""
        if not self.task.done():
            await self.stop()


async def send_persist(layer: InMemoryChannelLayer, messages: list[ChatMessage]) -> None:
    """Send each message to the persist channel, as interface servers do."""
    for message in messages:
        await layer.send(PERSIST, persist_event(message))


async def test_persisted_messages_are_stored_in_the_order_sent_broadcast_and_acked(layer) -> None:
    await make_room("r")
    hub, sender = await subscribe(layer, "r"), await layer.new_channel()
    messages = [draft("r", f"m{n}", client_id=f"c{n}", reply_channel=sender) for n in range(12)]

    async with RunningWorker(layer):
        await send_persist(layer, messages)
        received = await receive_many(layer, sender, 12)
        broadcast = await receive_many(layer, hub, 12)

    assert await rows("r") == [(n + 1, f"m{n}", f"c{n}") for n in range(12)]
    assert acks(received) == [(f"c{n}", n + 1, False) for n in range(12)]
    assert [(event["seq"], event["message"]) for event in broadcast] == [
        (n + 1, f"m{n}") for n in range(12)
    ]


async def test_persist_many_is_stored_in_order_among_single_messages_without_acks(layer) -> None:
    await make_room("r")
    sender = await layer.new_channel()

    async with RunningWorker(layer):
        await send_persist(layer, [draft("r", "a", client_id="a", reply_channel=sender)])
        unacked = [draft("r", text, client_id=text, reply_channel=sender) for text in "bcd"]
        await layer.send(PERSIST, persist_many_event(unacked))
        await send_persist(layer, [draft("r", "e", client_id="e", reply_channel=sender)])
        received = await receive_many(layer, sender, 2)

    assert acks(received) == [("a", 1, False), ("e", 5, False)]
    assert queued(layer, sender) == 0  # nobody is left to hear persist_many's acks
    assert await rows("r") == [(seq, text, text) for seq, text in enumerate("abcde", start=1)]


async def test_a_stopped_worker_stores_and_acks_everything_it_took_and_loses_none(layer) -> None:
    await make_room("r")
    sender = await layer.new_channel()
    sent = 500
    await send_persist(
        layer, [draft("r", f"m{n}", client_id=f"c{n}", reply_channel=sender) for n in range(sent)]
    )

    async with RunningWorker(layer, batch_size=10, max_pending=5) as running:
        await wait_until(stored_count)  # some of it is stored: stop mid-stream
        await running.stop()

    stored = await rows("r")
    left = queued(layer, PERSIST)
    assert left > 0  # it stopped reading: the rest waits on the layer for another worker
    assert len(stored) + left == sent
    assert stored == [(n + 1, f"m{n}", f"c{n}") for n in range(len(stored))]
    assert acks(await take_queued(layer, sender)) == [
        (f"c{n}", n + 1, False) for n in range(len(stored))
    ]


async def test_a_stopped_idle_worker_returns_from_arun(layer) -> None:
    async with RunningWorker(layer) as running:
        await running.stop()

    assert running.task.exception() is None
    assert await stored_count() == 0


@pytest.mark.parametrize(
    "event",
    [{"room": "r", "message": "no type"}, {"type": ""}, {"type": "persist.drain"}],
    ids=["no-type", "empty-type", "reserved-drain-type"],
)
async def test_an_event_without_a_usable_type_is_dropped_and_the_worker_goes_on(
    layer, event: dict, caplog: pytest.LogCaptureFixture
) -> None:
    await make_room("r")
    sender = await layer.new_channel()

    with caplog.at_level(logging.ERROR, logger="app.chat.worker"):
        async with RunningWorker(layer) as running:
            await send_persist(layer, [draft("r", "before", client_id="c1", reply_channel=sender)])
            await layer.send(PERSIST, event)
            await send_persist(layer, [draft("r", "after", client_id="c2", reply_channel=sender)])
            received = await receive_many(layer, sender, 2)
            assert not running.task.done()

    assert acks(received) == [("c1", 1, False), ("c2", 2, False)]
    assert await rows("r") == [(1, "before", "c1"), (2, "after", "c2")]
    assert "Worker dropped a message with no (or a reserved) type" in caplog.text


class FlakyLayer(InMemoryChannelLayer):
    """An in-memory layer whose receive on one channel fails the first ``failures`` times."""

    def __init__(self, *, channel: str, failures: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flaky_channel = channel
        self.failures_left = failures

    async def receive(self, channel: str) -> dict:
        if channel == self.flaky_channel and self.failures_left > 0:
            self.failures_left -= 1
            raise ConnectionError("Error connecting to the channel layer")
        return await super().receive(channel)


async def test_the_worker_rides_out_a_layer_that_fails_to_receive(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    layer = install(monkeypatch, new_layer(FlakyLayer, channel=PERSIST, failures=4))
    await make_room("r")
    sender = await layer.new_channel()

    with caplog.at_level(logging.WARNING, logger="app.chat.worker"):
        async with RunningWorker(layer) as running:
            await send_persist(layer, [draft("r", "through", client_id="c1", reply_channel=sender)])
            received = await receive_many(layer, sender, 1)
            assert not running.task.done()

    assert acks(received) == [("c1", 1, False)]
    assert await rows("r") == [(1, "through", "c1")]
    assert layer.failures_left == 0
    assert caplog.text.count("Worker could not read 'chat.persist'") == 4


@pytest.mark.parametrize(
    "event",
    [{"type": "message.unknown"}, {"type": "message.persist"}],
    ids=["unknown-type", "persist-without-fields"],
)
async def test_an_event_no_handler_accepts_loses_none_of_the_messages_behind_it(
    layer, event: dict, caplog: pytest.LogCaptureFixture
) -> None:
    await make_room("r")
    await layer.send(PERSIST, event)
    await send_persist(layer, [draft("r", f"m{n}", client_id=f"c{n}") for n in range(20)])

    async def settled() -> bool:
        """All stored, or the consumer died (asgiref logs it) and never will store them."""
        return "Exception inside application" in caplog.text or await stored_count() == 20

    with caplog.at_level(logging.ERROR):
        async with RunningWorker(layer, max_pending=100):
            await wait_until(settled)

    assert [text for _, text, _ in await rows("r")] == [f"m{n}" for n in range(20)]
