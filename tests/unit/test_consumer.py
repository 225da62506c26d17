"""The chat socket, ``ChatConsumer``, driven by channels' ``WebsocketCommunicator``.

Each test builds its own interface server: a hub on a fresh in-memory channel
layer with presence in memory and history in a real Postgres, the consumer
behind a route like production's, and, where messages must be stored, a real
persist worker beside it. The reference is docs/protocol.md. Nothing here is
asserted about time: ``SAFETY_TIMEOUT`` only bounds a hang.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import ChannelNameRouter, URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.urls import re_path

from app.chat import protocol, services
from app.chat.admission import Admission
from app.chat.consumers import ChatConsumer
from app.chat.history import RoomHistory
from app.chat.hub import Hub
from app.chat.hubs import Hubs
from app.chat.messages import ChatMessage
from app.chat.models import Message
from app.chat.presence import MemoryPresence
from app.chat.ratelimit import RateLimit
from app.chat.retry import Backoff
from app.chat.worker import PersistConsumer, PersistWorker

pytestmark = pytest.mark.django_db(transaction=True)

SAFETY_TIMEOUT = 10.0  # only bounds a hang; nothing is asserted about time
POLL_SECONDS = 0.02  # how often a condition on the database is read again
ROOM = "quiet-lake-0001"
PERSIST_CHANNEL = "test.persist"
BACKOFF = Backoff(first=0.05, maximum=0.5)
CLOSED = "websocket.close"  # what ``Client.receive`` returns for a close: no frame has a dot
PRESENCE_CHANGES = ("join", "leave")
LIMITS = protocol.Limits(max_frame_bytes=1024, max_handle_chars=16, max_message_chars=200)
CONSUMER_OPTIONS: dict[str, Any] = {
    "limits": LIMITS,
    "rate_limit": RateLimit(per_second=1000.0, burst=1000),
    "outbox_limit": 10,
    # Longer than any test: nothing is resent behind its back.
    "resends": Backoff(first=3600.0, maximum=3600.0),
    "receive_backoff": BACKOFF,
}
# Two frames, then none for as long as a test runs.
TWO_FRAMES = RateLimit(per_second=1e-6, burst=2)
DIALECTS = pytest.mark.parametrize("opted_in", [False, True], ids=["plain", "opted_in"])


# ------------------------------------------------------------------ a socket
class Client:
    """One test socket: frames in, decoded frames and the close code out."""

    def __init__(self, communicator: WebsocketCommunicator, *, opted_in: bool) -> None:
        self.communicator = communicator
        self.opted_in = opted_in
        self.connection: str | None = None  # its id, from the welcome
        self.gone = False

    async def open(self) -> None:
        """Do the handshake; the server accepts every chat socket, in its dialect."""
        accepted, subprotocol = await self.communicator.connect(SAFETY_TIMEOUT)
        assert accepted
        assert subprotocol == (protocol.SUBPROTOCOL if self.opted_in else None)

    async def greeting(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The welcome and presence snapshot every opted-in socket gets first."""
        welcome = await self.frame()
        presence = await self.frame()
        assert welcome["type"] == "welcome"
        assert presence["type"] == "presence"
        self.connection = welcome["connection"]
        return welcome, presence

    async def send(self, **frame: Any) -> None:
        """Send ``frame`` as one JSON text frame."""
        await self.communicator.send_to(text_data=json.dumps(frame))

    async def send_text(self, text: str) -> None:
        """Send one raw text frame."""
        await self.communicator.send_to(text_data=text)

    async def receive(self) -> dict[str, Any]:
        """The next thing the server sent: a decoded frame, or ``{"type": CLOSED, "code": N}``."""
        output = await self.communicator.receive_output(SAFETY_TIMEOUT)
        if output["type"] == CLOSED:
            return {"type": CLOSED, "code": output.get("code")}
        assert output["type"] == "websocket.send", output
        return json.loads(output["text"])

    async def frame(self) -> dict[str, Any]:
        """The next frame, past an opted-in client's join and leave frames (they come any time)."""
        while True:
            frame = await self.receive()
            if not (self.opted_in and frame["type"] in PRESENCE_CHANGES):
                return frame

    async def closed(self) -> int:
        """The code the server closed the socket with; it must be the next thing sent."""
        frame = await self.frame()
        assert frame["type"] == CLOSED, f"expected a close, got {frame}"
        return frame["code"]

    async def message_and_ack(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """A message frame and an ack, which may come in either order."""
        got: dict[str, dict[str, Any]] = {}
        while len(got) < 2:
            frame = await self.frame()
            assert frame["type"] in ("message", "ack"), frame
            assert frame["type"] not in got, f"a second {frame['type']}: {frame}"
            got[frame["type"]] = frame
        return got["message"], got["ack"]

    async def leave(self) -> None:
        """Close the socket from the client's side and let the consumer finish."""
        self.gone = True
        consumer = self.communicator.future
        if consumer.done() and consumer.cancelled():  # a receive that timed out ended it
            return
        await self.communicator.disconnect(timeout=SAFETY_TIMEOUT)


# ------------------------------------------------------------------ an interface server
class Server:
    """One interface server's parts (hubs, history, the chat route) and, on demand, a worker."""

    def __init__(self, layer) -> None:
        self.layer = layer
        self.history = RoomHistory()
        self.hubs = Hubs(self._start_hub)
        self.admission = Admission(max_sockets=0, max_per_address=0)  # no caps here
        # Both read when the hub starts, on the first connection.
        self.catchup_limit = 100
        self.presence: MemoryPresence = MemoryPresence()
        self.clients: list[Client] = []
        self.workers: list[tuple[PersistWorker, asyncio.Task]] = []

    async def _start_hub(self) -> Hub:
        hub = Hub(
            self.layer,
            self.presence,
            history=self.history,
            gap_hold=0.05,
            catchup_limit=self.catchup_limit,
            resync_seconds=3600.0,  # no resync in a test: it would hide lost broadcasts
            receive_backoff=BACKOFF,
        )
        await hub.start()
        return hub

    def application(self, **options: Any) -> URLRouter:
        """The chat route as production has it, to a consumer with ``options`` over the defaults."""
        consumer = ChatConsumer.as_asgi(
            admission=self.admission,
            hubs=self.hubs,
            history=self.history,
            persist_channel=PERSIST_CHANNEL,
            **{**CONSUMER_OPTIONS, **options},
        )
        return URLRouter([re_path(r"^chat/(?P<label>.*?)/?$", consumer)])

    async def connect(
        self,
        label: str = ROOM,
        *,
        opted_in: bool = False,
        query: str = "",
        subprotocols: list[str] | None = None,
        slash: str = "/",
        **options: Any,
    ) -> Client:
        """Open a socket to ``label`` (handshake only)."""
        if subprotocols is None and opted_in:
            subprotocols = [protocol.SUBPROTOCOL]
        path = f"/chat/{label}{slash}" + (f"?{query}" if query else "")
        communicator = WebsocketCommunicator(
            self.application(**options), path, subprotocols=subprotocols
        )
        client = Client(communicator, opted_in=opted_in)
        self.clients.append(client)
        await client.open()
        return client

    async def join(self, label: str = ROOM, *, opted_in: bool = False, **kwargs: Any) -> Client:
        """Open a socket to ``label``, past an opted-in client's greeting."""
        client = await self.connect(label, opted_in=opted_in, **kwargs)
        if opted_in:
            await client.greeting()
        return client

    def start_worker(self) -> PersistWorker:
        """Start a persist worker reading the persist channel, as ``runworker`` does."""
        consumer = PersistConsumer.as_asgi(
            batch_size=10,
            window=0.01,
            store_backoff=Backoff(first=0.05, maximum=0.5, retries=5),
            send_backoff=Backoff(first=0.05, maximum=0.5, retries=5),
        )
        worker = PersistWorker(
            application=ChannelNameRouter({PERSIST_CHANNEL: consumer}),
            channels=[PERSIST_CHANNEL],
            channel_layer=self.layer,
            receive_backoff=BACKOFF,
            max_pending=100,
            drain_seconds=SAFETY_TIMEOUT,
            handle_signals=False,
        )
        self.workers.append((worker, asyncio.ensure_future(worker.arun())))
        return worker

    async def stop_workers(self) -> None:
        """Stop every worker and wait until each has stored and acked what it read."""
        while self.workers:
            worker, running = self.workers.pop()
            worker.stop()
            await asyncio.wait_for(running, SAFETY_TIMEOUT)

    async def close(self) -> None:
        """Close every socket still open, then stop the workers."""
        for client in self.clients:
            if not client.gone:
                await client.leave()
        await self.stop_workers()


@pytest.fixture
async def server(settings) -> AsyncIterator[Server]:
    """An interface server on a fresh in-memory channel layer, torn down with its tasks."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    before = asyncio.all_tasks()
    built = Server(get_channel_layer())
    try:
        yield built
        await built.close()
    finally:
        # The hub's loops (and a stopped worker's checker) run forever: end those it made.
        leftovers = asyncio.all_tasks() - before - {asyncio.current_task()}
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        # The connection of database_sync_to_async's thread outlives a call (CONN_MAX_AGE).
        await database_sync_to_async(connections.close_all)()


# ------------------------------------------------------------------ the database
async def create_room(label: str = ROOM) -> None:
    """Create room ``label`` as a page visit would."""
    await database_sync_to_async(services.room_get_or_create)(label=label)


async def store_history(count: int, label: str = ROOM) -> None:
    """Store ``count`` messages in ``label`` directly (ids 1..count in a fresh room)."""
    drafts = [ChatMessage(label=label, handle="bea", message=f"old {n}") for n in range(count)]
    await database_sync_to_async(services.messages_store)(drafts=drafts)


def _rows(label: str) -> list[tuple[int, str, str, str | None]]:
    rows = Message.objects.filter(room__label=label).order_by("seq")
    return list(rows.values_list("seq", "handle", "message", "client_id"))


async def stored_rows(label: str = ROOM) -> list[tuple[int, str, str, str | None]]:
    """The room's stored messages as (seq, handle, message, client_id), in order."""
    return await database_sync_to_async(_rows)(label)


async def rows_once_there_are(count: int, label: str = ROOM) -> list[tuple]:
    """The room's stored messages, once there are at least ``count`` of them."""
    async with asyncio.timeout(SAFETY_TIMEOUT):
        while len(rows := await stored_rows(label)) < count:  # noqa: ASYNC110 (Postgres signals no rows)
            await asyncio.sleep(POLL_SECONDS)
    return rows


def without_detail(frame: dict[str, Any]) -> dict[str, Any]:
    """An error frame less its ``detail``, which is for people."""
    return {key: value for key, value in frame.items() if key != "detail"}


# ------------------------------------------------------------------ the plain dialect
@pytest.mark.parametrize("slash", ["/", ""], ids=["slash", "no_slash"])
async def test_a_plain_seed_frame_comes_back_as_a_message_frame_and_is_stored(
    server: Server, slash: str
) -> None:
    await create_room()
    server.start_worker()
    client = await server.join(slash=slash)

    await client.send(handle="ada", message="Hello, room!")

    frame = await client.receive()
    ((seq, handle, message, client_id),) = await stored_rows()
    row = await database_sync_to_async(Message.objects.get)(room__label=ROOM, seq=1)
    assert (seq, handle, message) == (1, "ada", "Hello, room!")
    assert client_id.startswith("~")
    assert frame == {
        "type": "message",
        "id": 1,
        "handle": "ada",
        "message": "Hello, room!",
        "timestamp": protocol.seed_timestamp(row.timestamp),
        "time": row.timestamp.isoformat(),
        "client_id": client_id,
    }


async def test_a_plain_client_receives_only_message_frames(server: Server) -> None:
    await create_room()
    server.start_worker()
    plain = await server.join()
    other = await server.join(opted_in=True, query="handle=bob")
    await other.send(handle="bob", message="from bob", client_id="b-1")
    await other.message_and_ack()
    await other.leave()  # its join, message and leave all reach the room before ours

    await plain.send(handle="ada", message="one")
    await plain.send(handle="ada", message="two")  # sent on once "one" is acked

    first, second = await plain.receive(), await plain.receive()
    assert (first["type"], first["id"], first["handle"]) == ("message", 1, "bob")
    assert (second["type"], second["id"], second["message"]) == ("message", 2, "one")
    third = await plain.receive()
    assert (third["type"], third["id"], third["message"]) == ("message", 3, "two")


@pytest.mark.parametrize("query", ["after=abc", "handle=%01ada", "after=0"])
async def test_a_plain_clients_query_is_ignored(server: Server, query: str) -> None:
    await create_room()
    await store_history(2)
    server.start_worker()
    client = await server.join(query=query)

    await client.send(handle="ada", message="still here")

    frame = await client.receive()  # no close, and no catch-up before it
    assert (frame["type"], frame["id"], frame["message"]) == ("message", 3, "still here")


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        json.dumps({"handle": "ada", "message": "hi", "colour": "red"}),
        json.dumps({"handle": "ada"}),
        json.dumps({"handle": 7, "message": "hi"}),
        json.dumps({"handle": "ada", "message": "   "}),
        json.dumps({"handle": "ada", "message": "x" * (LIMITS.max_message_chars + 1)}),
        json.dumps({"handle": "ada\u0007", "message": "hi"}),
        json.dumps({"handle": "ada", "message": "\ud800"}),
        json.dumps({"handle": "ada", "message": "hi", "client_id": "c-1"}),
        json.dumps({"handle": "ada", "message": "hi", "type": "message"}),
    ],
    ids=[
        "invalid_json",
        "not_an_object",
        "unknown_field",
        "missing_field",
        "invalid_type",
        "empty_field",
        "too_long",
        "invalid_text",
        "lone_surrogate",
        "client_id_is_unknown",
        "type_is_unknown",
    ],
)
async def test_a_plain_client_breaking_a_frame_rule_is_closed_with_4400(
    server: Server, text: str
) -> None:
    await create_room()
    client = await server.join()

    await client.send_text(text)

    assert await client.closed() == protocol.CLOSE_INVALID_FRAME


async def test_a_plain_client_over_the_rate_limit_is_closed_with_4429_at_its_first_frame_over(
    server: Server,
) -> None:
    await create_room()
    server.start_worker()
    client = await server.join(rate_limit=TWO_FRAMES)
    for text in ("one", "two"):
        await client.send(handle="ada", message=text)
        assert (await client.receive())["message"] == text

    await client.send(handle="ada", message="three")

    assert await client.closed() == protocol.CLOSE_RATE_LIMITED


async def test_a_plain_client_with_a_full_outbox_is_closed_with_4503(server: Server) -> None:
    await create_room()  # and no worker: nothing is acked
    client = await server.join(outbox_limit=1)

    await client.send(handle="ada", message="one")
    await client.send(handle="ada", message="two")

    assert await client.closed() == protocol.CLOSE_TRY_AGAIN_LATER


async def test_a_closed_plain_sockets_unacked_messages_are_stored_once_in_order(
    server: Server,
) -> None:
    await create_room()  # and no worker yet: no message is acked
    client = await server.join()
    for text in ("one", "two", "three"):  # "one" goes out at once; the others wait for its ack
        await client.send(handle="ada", message=text)
    await client.leave()

    server.start_worker()
    await rows_once_there_are(3)
    await server.stop_workers()  # it read everything before storing "three": drain it

    rows = await stored_rows()
    assert [(seq, handle, message) for seq, handle, message, _ in rows] == [
        (1, "ada", "one"),
        (2, "ada", "two"),
        (3, "ada", "three"),
    ]
    client_ids = [client_id for *_, client_id in rows]
    assert all(client_id.startswith("~") for client_id in client_ids)
    assert len(set(client_ids)) == 3


# ------------------------------------------------------------------ the opt-in dialect
async def test_an_opted_in_client_is_welcomed_with_the_room_and_a_presence_snapshot(
    server: Server,
) -> None:
    await create_room()
    await store_history(3)

    client = await server.connect(
        opted_in=True, query="handle=ada", subprotocols=["chat", protocol.SUBPROTOCOL]
    )

    welcome, presence = await client.greeting()
    assert welcome == {
        "type": "welcome",
        "room": ROOM,
        "connection": welcome["connection"],
        "last_id": 3,
    }
    assert len(welcome["connection"]) == 16
    (member,) = presence["members"]
    assert member["id"] == welcome["connection"]
    assert member["handle"] == "ada"
    assert isinstance(member["since"], float)


async def test_an_opted_in_message_is_acked_and_its_resend_acked_as_a_duplicate(
    server: Server,
) -> None:
    await create_room()
    server.start_worker()
    client = await server.join(opted_in=True)

    await client.send(type="message", client_id="c-1", handle="ada", message="Hello")
    message, ack = await client.message_and_ack()
    await client.send(client_id="c-1", handle="ada", message="Hello again")
    duplicate = await client.frame()
    await client.send(client_id="c-2", handle="ada", message="Next")
    next_message, next_ack = await client.message_and_ack()

    assert (message["id"], message["client_id"], message["message"]) == (1, "c-1", "Hello")
    assert ack == {"type": "ack", "client_id": "c-1", "id": 1, "duplicate": False}
    assert duplicate == {"type": "ack", "client_id": "c-1", "id": 1, "duplicate": True}
    # The resend reached nobody as a message again: the next message frame is the next one.
    assert (next_message["id"], next_message["client_id"]) == (2, "c-2")
    assert next_ack == {"type": "ack", "client_id": "c-2", "id": 2, "duplicate": False}
    assert [row[1:] for row in await stored_rows()] == [
        ("ada", "Hello", "c-1"),
        ("ada", "Next", "c-2"),
    ]


def refused(frame: str | dict[str, Any], code: str, client_id: str | None, name: str):
    """A parameter of an opted-in refused frame: what it is, its error and the id it names."""
    return pytest.param(frame, code, client_id, id=name)


@pytest.mark.parametrize(
    ("text", "code", "client_id"),
    [
        refused("not json", "invalid_json", None, "invalid_json"),
        refused("[1, 2]", "not_an_object", None, "not_an_object"),
        refused({"client_id": "bad id!"}, "invalid_client_id", None, "invalid_client_id"),
        refused({"client_id": 7}, "invalid_client_id", None, "client_id_not_a_string"),
        refused({"type": "typing"}, "unknown_type", "c-1", "unknown_type"),
        refused({"colour": "red"}, "unknown_field", "c-1", "unknown_field"),
        refused({"message": None}, "missing_field", "c-1", "missing_field"),
        refused({"message": ["hi"]}, "invalid_type", "c-1", "invalid_type"),
        refused({"handle": ""}, "empty_field", "c-1", "empty_field"),
        refused({"handle": "a" * (LIMITS.max_handle_chars + 1)}, "too_long", "c-1", "too_long"),
        refused({"message": "hi\u0000"}, "invalid_text", "c-1", "invalid_text"),
        refused({"message": "\udfff"}, "invalid_text", "c-1", "lone_surrogate"),
    ],
)
async def test_an_opted_in_client_hears_the_rule_its_frame_broke_and_can_go_on(
    server: Server, text: str | dict[str, Any], code: str, client_id: str | None
) -> None:
    await create_room()
    server.start_worker()
    client = await server.join(opted_in=True)
    if isinstance(text, dict):  # a valid message frame named "c-1", but for what ``text`` says
        fields = {"client_id": "c-1", "handle": "ada", "message": "hi", **text}
        text = json.dumps({key: value for key, value in fields.items() if value is not None})

    await client.send_text(text)
    error = await client.frame()
    await client.send(client_id="c-1", handle="ada", message="valid")
    message, ack = await client.message_and_ack()

    expected = {"type": "error", "code": code}
    if client_id is not None:
        expected["client_id"] = client_id
    assert without_detail(error) == expected  # no "close": the socket stays open
    assert error["detail"]
    # Nothing of the refused frame was stored: "c-1" is new, and message 1.
    assert (message["id"], message["message"]) == (1, "valid")
    assert ack == {"type": "ack", "client_id": "c-1", "id": 1, "duplicate": False}


@pytest.mark.parametrize(
    "query",
    [
        "after=abc",
        "after=-1",
        "after=" + "9" * (protocol.MAX_AFTER_DIGITS + 1),
        "handle=%01ada",
        "handle=%20%20",
        "handle=" + "a" * (LIMITS.max_handle_chars + 1),
    ],
)
async def test_a_bad_query_is_answered_with_invalid_query_and_closes_an_opted_in_client(
    server: Server, query: str
) -> None:
    await create_room()

    client = await server.connect(opted_in=True, query=query)

    error = await client.receive()  # before any welcome
    assert without_detail(error) == {
        "type": "error",
        "code": "invalid_query",
        "close": protocol.CLOSE_INVALID_FRAME,
    }
    assert await client.receive() == {"type": CLOSED, "code": protocol.CLOSE_INVALID_FRAME}


async def test_an_opted_in_client_over_the_rate_limit_is_warned_then_closed_after_more_than_burst(
    server: Server,
) -> None:
    await create_room()  # no worker: accepted messages just wait
    client = await server.join(opted_in=True, rate_limit=TWO_FRAMES)
    for client_id in ("c-1", "c-2"):
        await client.send(client_id=client_id, handle="ada", message="fine")

    warnings = []
    for client_id in ("c-3", "c-4"):
        await client.send(client_id=client_id, handle="ada", message="too many")
        warnings.append(await client.frame())
    await client.send(client_id="c-5", handle="ada", message="and more")
    last = await client.frame()

    # "c-1" and "c-2" passed: the first error the client hears is the first frame over.
    for warning, client_id in zip(warnings, ("c-3", "c-4"), strict=True):
        assert (warning["type"], warning["code"]) == ("error", "rate_limited")
        assert warning["client_id"] == client_id
        assert warning["retry_after"] > 0
        assert "close" not in warning
    assert (last["type"], last["code"]) == ("error", "rate_limited")
    assert last["close"] == protocol.CLOSE_RATE_LIMITED
    assert await client.closed() == protocol.CLOSE_RATE_LIMITED


async def test_an_invalid_frame_over_the_rate_limit_is_answered_with_its_own_error(
    server: Server,
) -> None:
    await create_room()
    client = await server.join(opted_in=True, rate_limit=TWO_FRAMES)
    await client.send(client_id="c-1", handle="ada", message="fine")
    await client.send(client_id="c-2", handle="ada", message="fine")

    await client.send_text("not json")

    error = await client.frame()
    assert without_detail(error) == {"type": "error", "code": "invalid_json"}


async def test_an_opted_in_client_with_a_full_outbox_is_told_overloaded_and_can_resend_later(
    server: Server,
) -> None:
    await create_room()  # and no worker yet: "c-1" waits for its ack
    client = await server.join(opted_in=True, outbox_limit=1)
    await client.send(client_id="c-1", handle="ada", message="one")

    await client.send(client_id="c-2", handle="ada", message="two")
    overloaded = await client.frame()
    server.start_worker()
    _, first_ack = await client.message_and_ack()
    await client.send(client_id="c-2", handle="ada", message="two")
    _, second_ack = await client.message_and_ack()

    assert without_detail(overloaded) == {
        "type": "error",
        "code": "overloaded",
        "client_id": "c-2",
    }
    assert first_ack == {"type": "ack", "client_id": "c-1", "id": 1, "duplicate": False}
    assert second_ack == {"type": "ack", "client_id": "c-2", "id": 2, "duplicate": False}


# ------------------------------------------------------------------ both dialects
@DIALECTS
@pytest.mark.parametrize(
    ("label", "exists"),
    [("never-created", False), ("new", True), ("two/parts", False)],
    ids=["unknown", "reserved", "slash"],
)
async def test_an_unknown_or_invalid_room_is_closed_with_4404(
    server: Server, opted_in: bool, label: str, exists: bool
) -> None:
    await create_room()
    if exists:  # a row alone does not make a room of an invalid label
        await create_room(label)

    client = await server.connect(label, opted_in=opted_in)

    if opted_in:
        error = await client.receive()
        assert without_detail(error) == {
            "type": "error",
            "code": "room_not_found",
            "close": protocol.CLOSE_ROOM_NOT_FOUND,
        }
    assert await client.receive() == {"type": CLOSED, "code": protocol.CLOSE_ROOM_NOT_FOUND}


@DIALECTS
@pytest.mark.parametrize(
    ("frame", "code", "close"),
    [
        (b'{"handle": "ada", "message": "hi"}', "binary_not_supported", 4415),
        ("x" * (LIMITS.max_frame_bytes + 1), "frame_too_large", 4413),
        # Under the limit in characters, over it in UTF-8 bytes.
        (json.dumps({"message": "é" * 520}, ensure_ascii=False), "frame_too_large", 4413),
    ],
    ids=["binary", "too_large", "too_many_utf8_bytes"],
)
async def test_a_frame_the_connection_cannot_survive_closes_it_in_both_dialects(
    server: Server, opted_in: bool, frame: str | bytes, code: str, close: int
) -> None:
    await create_room()
    client = await server.join(opted_in=opted_in)

    if isinstance(frame, bytes):
        await client.communicator.send_to(bytes_data=frame)
    else:
        await client.send_text(frame)

    if opted_in:
        error = await client.frame()
        assert without_detail(error) == {"type": "error", "code": code, "close": close}
    assert await client.closed() == close


class RedisDownPresence(MemoryPresence):
    """Presence whose store fails the next ``failures`` adds, as Redis in an outage would."""

    def __init__(self, *, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def add(self, label: str, members: list[dict[str, Any]]) -> None:
        """Record members of ``label``, or fail while the outage lasts."""
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Redis is down")
        await super().add(label, members)


@DIALECTS
async def test_a_join_that_fails_midway_is_refused_as_unavailable_and_leaves_no_trace(
    server: Server, opted_in: bool
) -> None:
    await create_room()
    server.presence = RedisDownPresence(failures=1)

    refused = await server.connect(opted_in=opted_in)

    if opted_in:
        error = await refused.receive()  # before any welcome
        assert without_detail(error) == {
            "type": "error",
            "code": "unavailable",
            "close": protocol.CLOSE_TRY_AGAIN_LATER,
        }
    assert await refused.closed() == protocol.CLOSE_TRY_AGAIN_LATER
    await refused.leave()
    # Once the store is back, the next socket joins a room with no ghost in it.
    welcome, presence = await (await server.connect(opted_in=True)).greeting()
    assert [member["id"] for member in presence["members"]] == [welcome["connection"]]
    hub = await server.hubs.get()
    assert list(hub.feeds[ROOM].members) == [welcome["connection"]]


@DIALECTS
async def test_a_stopping_server_closes_its_sockets_and_refuses_new_ones_with_4503(
    server: Server, opted_in: bool
) -> None:
    await create_room()  # and no worker: what the socket sent is not acked
    client = await server.join(opted_in=opted_in)
    named = {"client_id": "c-1"} if opted_in else {}
    await client.send(handle="ada", message="mid-deploy", **named)
    # Taken off the persist channel, so it was accepted; only the hand-over can store it now.
    sent = await asyncio.wait_for(server.layer.receive(PERSIST_CHANNEL), SAFETY_TIMEOUT)
    assert sent["message"] == "mid-deploy"
    hub = await server.hubs.get()

    stopping = asyncio.ensure_future(hub.stop(close_within=0.01, wait=SAFETY_TIMEOUT))
    if opted_in:
        error = await client.frame()
        assert without_detail(error) == {
            "type": "error",
            "code": "going_away",
            "close": protocol.CLOSE_TRY_AGAIN_LATER,
        }
    assert await client.closed() == protocol.CLOSE_TRY_AGAIN_LATER
    await client.leave()
    await asyncio.wait_for(stopping, SAFETY_TIMEOUT)
    late = await server.connect(opted_in=opted_in)

    if opted_in:
        assert (await late.receive())["code"] == "going_away"
    assert await late.closed() == protocol.CLOSE_TRY_AGAIN_LATER
    # What the closed socket sent but saw no ack for was handed to the workers.
    server.start_worker()
    ((seq, handle, message, _),) = await rows_once_there_are(1)
    assert (seq, handle, message) == (1, "ada", "mid-deploy")


# ------------------------------------------------------------------ catch-up
@pytest.mark.parametrize(("after", "replayed"), [(0, [1, 2, 3, 4, 5]), (2, [3, 4, 5])])
async def test_catch_up_replays_the_messages_missed_after_the_given_id(
    server: Server, after: int, replayed: list[int]
) -> None:
    await create_room()
    await store_history(5)
    server.start_worker()
    client = await server.connect(opted_in=True, query=f"after={after}")
    welcome, _ = await client.greeting()

    missed = [await client.frame() for _ in replayed]
    await client.send(client_id="c-1", handle="ada", message="back")
    live, _ = await client.message_and_ack()

    assert welcome["last_id"] == 5
    assert [frame["type"] for frame in missed] == ["message"] * len(replayed)
    assert [frame["id"] for frame in missed] == replayed
    assert [frame["message"] for frame in missed] == [f"old {n - 1}" for n in replayed]
    assert live["id"] == 6  # no gap, no repeat


@pytest.mark.parametrize("query", ["after=5", "after=99", "after="])
async def test_catch_up_at_or_past_the_last_id_replays_nothing(server: Server, query: str) -> None:
    await create_room()
    await store_history(5)
    server.start_worker()
    client = await server.join(opted_in=True, query=query)

    await client.send(client_id="c-1", handle="ada", message="now")

    live, _ = await client.message_and_ack()
    assert (live["id"], live["message"]) == (6, "now")


async def test_more_missed_than_the_catch_up_limit_is_announced_as_truncated(
    server: Server,
) -> None:
    await create_room()
    await store_history(5)
    server.catchup_limit = 2

    client = await server.join(opted_in=True, query="after=1")

    truncated = await client.frame()
    missed = [await client.frame() for _ in range(2)]
    assert truncated == {"type": "truncated", "after": 1, "resumes_after": 3}
    assert [(frame["type"], frame["id"]) for frame in missed] == [("message", 4), ("message", 5)]


# ------------------------------------------------------------------ presence
async def presence_change(client: Client) -> dict[str, Any]:
    """The next join or leave ``client`` hears of another member (its own may come any time)."""
    while True:
        frame = await client.receive()
        assert frame["type"] in PRESENCE_CHANGES, frame
        if frame["member"]["id"] != client.connection:
            return frame


async def test_joins_and_leaves_reach_opted_in_members_in_order(server: Server) -> None:
    await create_room()
    ada = await server.join(opted_in=True, query="handle=ada")

    plain = await server.join()
    plain_joined = await presence_change(ada)
    bob = await server.connect(opted_in=True, query="handle=bob")
    bob_welcome, bob_snapshot = await bob.greeting()
    bob_joined = await presence_change(ada)
    await bob.leave()
    bob_left = await presence_change(ada)
    await plain.leave()
    plain_left = await presence_change(ada)

    assert plain_joined["type"] == "join"
    assert plain_joined["member"]["handle"] is None
    assert [member["handle"] for member in bob_snapshot["members"]] == ["ada", None, "bob"]
    assert bob_joined["type"] == "join"
    assert bob_joined["member"]["id"] == bob_welcome["connection"]
    assert bob_joined["member"]["handle"] == "bob"
    assert (bob_left["type"], bob_left["member"]) == ("leave", bob_joined["member"])
    assert (plain_left["type"], plain_left["member"]) == ("leave", plain_joined["member"])
