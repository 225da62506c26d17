"""Bad input sent for real over sockets: each gets its documented answer, and nothing else.

Each case checks the answer (docs/protocol.md): an error frame to an opted-in
(``parley.v1``) client, a close code to a plain (seed) one. Daphne drops close
reasons (django/daphne#374), so codes are what is asserted. Then it checks
that nothing was stored (the room's rows in Postgres) or broadcast (a plain
member on the other server sees, next, only the valid message that follows),
that the room still chats, and that every process still runs.
"""

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import pytest
import websockets

from tests.support.chat import connect, create_room, recv_json, recv_until, send_chat, visit_room
from tests.support.checks import assert_serving, recv_until_closed, room_exists, room_rows
from tests.support.topology import Topology

DIALECTS = [pytest.param(False, id="plain"), pytest.param(True, id="parley.v1")]
CLOSE_INVALID_FRAME = 4400
CLOSE_ROOM_NOT_FOUND = 4404
CLOSE_TOO_LARGE = 4413
CLOSE_UNSUPPORTED_DATA = 4415
CLOSE_RATE_LIMITED = 4429
CLOSE_TRY_AGAIN_LATER = 4503
MAX_FRAME_BYTES = 32768  # the default of PARLEY_MAX_FRAME_BYTES
PRESENCE_TYPES = {"presence", "join", "leave"}
CHAT_KEYS = {"type", "id", "handle", "message", "timestamp", "time", "client_id"}


def frame(**fields: Any) -> str:
    """A JSON text frame (ASCII-escaped, as Python's json writes it)."""
    return json.dumps(fields)


def chat(**fields: Any) -> str:
    """A valid seed frame with ``fields`` changed (a value of ``...`` drops the key)."""
    merged = {"handle": "mallory", "message": "hi", **fields}
    return frame(**{key: value for key, value in merged.items() if value is not ...})


BAD_FRAMES = [
    pytest.param("hello there", "invalid_json", id="not-json"),
    pytest.param('{"handle": "mallory", "message": "hi"', "invalid_json", id="truncated-json"),
    pytest.param("[" * 5000 + "]" * 5000, "invalid_json", id="nested-too-deep"),
    pytest.param('["mallory", "hi"]', "not_an_object", id="array"),
    pytest.param('"hi"', "not_an_object", id="string"),
    pytest.param("42", "not_an_object", id="number"),
    pytest.param("null", "not_an_object", id="null"),
    pytest.param(chat(message=...), "missing_field", id="missing-message"),
    pytest.param(chat(handle=...), "missing_field", id="missing-handle"),
    pytest.param("{}", "missing_field", id="empty-object"),
    pytest.param(chat(room="elsewhere"), "unknown_field", id="extra-key"),
    pytest.param(chat(handle=5), "invalid_type", id="handle-number"),
    pytest.param(chat(handle={"name": "m"}), "invalid_type", id="handle-object"),
    pytest.param(chat(message=None), "invalid_type", id="message-null"),
    pytest.param(chat(message=["hi"]), "invalid_type", id="message-list"),
    pytest.param(chat(handle=""), "empty_field", id="empty-handle"),
    pytest.param(chat(message=""), "empty_field", id="empty-message"),
    pytest.param(chat(handle=" \t "), "empty_field", id="blank-handle"),
    pytest.param(chat(message=" \n\t\u3000 "), "empty_field", id="blank-message"),
    pytest.param(chat(handle="h" * 33), "too_long", id="handle-33-chars"),
    pytest.param(chat(message="m" * 2001), "too_long", id="message-2001-chars"),
    pytest.param(chat(message="a\u0000b"), "invalid_text", id="nul-in-message"),
    pytest.param(chat(handle="a\u0000"), "invalid_text", id="nul-in-handle"),
    pytest.param(chat(message="\u001b[31mred"), "invalid_text", id="escape-in-message"),
    pytest.param(chat(message="a\u009b31m"), "invalid_text", id="c1-control-in-message"),
    pytest.param(chat(handle="a\u007f"), "invalid_text", id="del-in-handle"),
    pytest.param(chat(handle="a\nb"), "invalid_text", id="newline-in-handle"),
    pytest.param(r'{"handle": "m", "message": "\ud800"}', "invalid_text", id="lone-surrogate"),
    pytest.param(r'{"handle": "\udfff", "message": "hi"}', "invalid_text", id="surrogate-handle"),
    # Keys only the opt-in dialect knows: for a plain client they are extra keys (4400).
    pytest.param(chat(client_id="has space"), "invalid_client_id", id="client-id-space"),
    pytest.param(chat(client_id=""), "invalid_client_id", id="client-id-empty"),
    pytest.param(chat(client_id="c" * 65), "invalid_client_id", id="client-id-65-chars"),
    pytest.param(chat(client_id=7), "invalid_client_id", id="client-id-number"),
    pytest.param(frame(type="ping"), "unknown_type", id="unknown-type"),
    pytest.param(chat(type="typing"), "unknown_type", id="unknown-type-with-fields"),
    pytest.param(chat(type=1), "unknown_type", id="type-number"),
]


@dataclass
class Room:
    """A fresh room, watched by a plain member on the second server.

    ``expected`` is what every member must see, and what Postgres must hold.
    """

    topology: Topology
    label: str
    observer: Any
    expected: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    async def open(cls, topology: Topology) -> "Room":
        """Create a room on server A and seat the observer on server B (joined for sure)."""
        label = create_room(topology.webs[0].url)
        room = cls(topology, label, await connect(topology.webs[1].ws_url, label))
        await room.observer_says("hello")
        return room

    async def join(self, *, opt_in: bool, **query: Any):
        """Connect a member on server A; an opted-in one is seated once its presence comes."""
        member = await connect(self.topology.webs[0].ws_url, self.label, opt_in=opt_in, **query)
        if opt_in:
            assert (await recv_json(member))["type"] == "welcome"
            await recv_until(member, "presence")
        return member

    async def observer_says(self, text: str) -> None:
        """The observer sends ``text``; it must be the next thing the observer sees."""
        assert await self.observer_collects(text) == [], "something else was broadcast"

    async def assert_observer_sees(self, *messages: tuple[str, str]) -> None:
        """The observer's next frames are exactly these chat messages, numbered in order."""
        first_id = len(self.expected) - len(messages) + 1
        for offset, (handle, text) in enumerate(messages):
            got = await recv_json(self.observer, timeout=10)
            assert set(got) <= CHAT_KEYS, f"a plain member got a non-chat frame: {got}"
            assert (got["id"], got["handle"], got["message"]) == (first_id + offset, handle, text)

    async def observer_collects(self, text: str) -> list[tuple[str, str]]:
        """The observer sends ``text``; return the chat messages it saw before it, in order."""
        await send_chat(self.observer, "observer", text)
        seen: list[tuple[str, str]] = []
        while True:
            got = await recv_json(self.observer, timeout=10)
            assert set(got) <= CHAT_KEYS, f"a plain member got a non-chat frame: {got}"
            assert got["id"] == len(self.expected) + len(seen) + 1, "a gap or a repeat"
            if (got["handle"], got["message"]) == ("observer", text):
                self.expected += [*seen, ("observer", text)]
                return seen
            seen.append((got["handle"], got["message"]))

    async def opted_in_says(self, member, text: str, client_id: str) -> dict[str, Any]:
        """An opted-in member sends ``text`` and awaits its ack; the observer sees it next."""
        await send_chat(member, "mallory", text, client_id=client_id)
        ack = await recv_until(member, "ack", timeout=10)
        self.expected.append(("mallory", text))
        assert ack == {
            "type": "ack",
            "client_id": client_id,
            "id": len(self.expected),
            "duplicate": False,
        }
        await self.assert_observer_sees(("mallory", text))
        return ack

    async def assert_unharmed(self) -> None:
        """Only the expected messages were stored and broadcast; the room still chats."""
        await self.observer_says("still here")
        assert [(row.handle, row.message) for row in room_rows(self.topology, self.label)] == (
            self.expected
        )
        assert_serving(self.topology)
        await self.observer.close()


async def recv_error(member) -> dict[str, Any]:
    """Skip presence frames until an error frame; no message or ack may come first."""
    while True:
        got = await recv_json(member, timeout=10)
        assert got["type"] in {"error", *PRESENCE_TYPES}, got
        if got["type"] == "error":
            return got


# ------------------------------------------------------------------ frames
@pytest.mark.parametrize("opt_in", DIALECTS)
@pytest.mark.parametrize(("text", "code"), BAD_FRAMES)
async def test_a_bad_frame_is_answered_and_neither_stored_nor_broadcast(
    topology, opt_in, text, code
):
    room = await Room.open(topology)
    offender = await room.join(opt_in=opt_in)

    await offender.send(text)

    if opt_in:
        error = await recv_error(offender)
        assert (error["code"], "close" in error, "client_id" in error) == (code, False, False)
        assert error["detail"]
        await room.opted_in_says(offender, "sorry", "sorry-1")  # the connection goes on
        await offender.close()
    else:
        assert await recv_until_closed(offender) == ([], CLOSE_INVALID_FRAME)
    await room.assert_unharmed()


async def test_an_opted_in_error_names_the_refused_message(topology):
    room = await Room.open(topology)
    member = await room.join(opt_in=True)

    await send_chat(member, "mallory", " ", client_id="blank-1")
    error = await recv_error(member)

    assert (error["code"], error["client_id"]) == ("empty_field", "blank-1")
    await room.opted_in_says(member, "not blank", "blank-2")
    await room.assert_unharmed()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(chat(type="message"), id="type"),
        pytest.param(chat(client_id="c-1"), id="client-id"),
    ],
)
async def test_opt_in_keys_are_unknown_fields_to_a_plain_client(topology, text):
    room = await Room.open(topology)
    plain = await room.join(opt_in=False)
    opted_in = await room.join(opt_in=True)

    await plain.send(text)
    assert await recv_until_closed(plain) == ([], CLOSE_INVALID_FRAME)
    await opted_in.send(text)
    ack = await recv_until(opted_in, "ack", timeout=10)

    assert (ack["id"], ack["duplicate"]) == (2, False)
    room.expected.append(("mallory", "hi"))
    await room.assert_observer_sees(("mallory", "hi"))
    await opted_in.close()
    await room.assert_unharmed()


async def test_a_frame_at_every_limit_is_stored_as_sent(topology):
    # 2000 astral characters, each written as a 12-byte surrogate-pair escape:
    # any valid message fits the frame limit however it is encoded.
    handle, text = "h" * 32, "\U0001f600" * 1998 + "\t\n"
    payload = json.dumps({"handle": handle, "message": text})
    assert len(text) == 2000
    assert len(payload) > 24_000
    room = await Room.open(topology)
    member = await room.join(opt_in=False)

    await member.send(payload)
    room.expected.append((handle, text))

    await room.assert_observer_sees((handle, text))
    await member.close()
    await room.assert_unharmed()


FATAL_FRAMES = [
    pytest.param(b"\x00\x01binary", "binary_not_supported", CLOSE_UNSUPPORTED_DATA, id="binary"),
    pytest.param(
        chat(message="x" * (MAX_FRAME_BYTES - len(chat(message="")) + 1)),
        "frame_too_large",
        CLOSE_TOO_LARGE,
        id="json-one-byte-over",
    ),
    pytest.param("x" * 40_000, "frame_too_large", CLOSE_TOO_LARGE, id="junk-40kb"),
]


@pytest.mark.parametrize("opt_in", DIALECTS)
@pytest.mark.parametrize(("data", "code", "close"), FATAL_FRAMES)
async def test_a_frame_the_connection_cannot_survive_closes_it(topology, opt_in, data, code, close):
    if isinstance(data, str):
        assert len(data.encode()) > MAX_FRAME_BYTES
    room = await Room.open(topology)
    offender = await room.join(opt_in=opt_in)

    await offender.send(data)
    frames, close_code = await recv_until_closed(offender)

    assert close_code == close
    if opt_in:
        frames = [f for f in frames if f["type"] not in PRESENCE_TYPES]
        assert [(f["type"], f["code"], f["close"]) for f in frames] == [("error", code, close)]
    else:
        assert frames == []
    await room.assert_unharmed()


@pytest.mark.parametrize("opt_in", DIALECTS)
async def test_a_message_over_daphnes_limit_drops_the_connection(topology, opt_in):
    """Over --websocket-max-message-size (65536 in the Procfile) daphne drops the socket
    before Parley reads a byte of it: memory per frame stays bounded."""
    room = await Room.open(topology)
    offender = await room.join(opt_in=opt_in)

    await offender.send(chat(message="x" * 100_000))
    frames, _ = await recv_until_closed(offender, abrupt=True)
    assert all(frame["type"] in PRESENCE_TYPES for frame in frames)
    await room.assert_unharmed()


# ------------------------------------------------------------------ the handshake
BAD_ROOMS = [
    pytest.param("never-created-room", "never-created-room", id="unknown-label"),
    pytest.param("bad%20label", "bad label", id="space"),
    pytest.param("x" * 51, "x" * 51, id="51-chars"),
    pytest.param("new", "new", id="reserved"),
    pytest.param("a/b", "a/b", id="slash"),
    pytest.param("", "", id="empty"),
    pytest.param("%3Cb%3E", "<b>", id="markup"),
]


@pytest.mark.parametrize("opt_in", DIALECTS)
@pytest.mark.parametrize(("path_label", "label"), BAD_ROOMS)
async def test_an_unknown_or_invalid_room_is_closed_with_4404(topology, opt_in, path_label, label):
    room = await Room.open(topology)
    url = f"{topology.webs[0].ws_url}/chat/{path_label}/"

    async with websockets.connect(url, subprotocols=["parley.v1"] if opt_in else None) as member:
        frames, close_code = await recv_until_closed(member)

    assert close_code == CLOSE_ROOM_NOT_FOUND
    if opt_in:
        assert [(f["type"], f["code"], f["close"]) for f in frames] == [
            ("error", "room_not_found", CLOSE_ROOM_NOT_FOUND)
        ]
    else:
        assert frames == []
    assert not room_exists(topology, label)
    await room.assert_unharmed()


BAD_QUERIES = [
    pytest.param({"after": "x"}, id="after-not-a-number"),
    pytest.param({"after": "-1"}, id="after-negative"),
    pytest.param({"after": "1.5"}, id="after-fraction"),
    pytest.param({"after": "9" * 19}, id="after-19-digits"),
    pytest.param({"handle": "  "}, id="handle-blank"),
    pytest.param({"handle": "h" * 33}, id="handle-33-chars"),
    pytest.param({"handle": "a\x00b"}, id="handle-nul"),
    pytest.param({"handle": "a\x9bb"}, id="handle-c1-control"),
]


@pytest.mark.parametrize("query", BAD_QUERIES)
async def test_a_bad_query_closes_an_opted_in_client_and_is_ignored_by_plain_ones(topology, query):
    room = await Room.open(topology)

    opted_in = await connect(topology.webs[0].ws_url, room.label, opt_in=True, **query)
    frames, close_code = await recv_until_closed(opted_in)
    plain = await connect(topology.webs[0].ws_url, room.label, **query)
    await send_chat(plain, "plain", "query ignored")
    room.expected.append(("plain", "query ignored"))

    assert close_code == CLOSE_INVALID_FRAME
    assert [(f["type"], f["code"], f["close"]) for f in frames] == [
        ("error", "invalid_query", CLOSE_INVALID_FRAME)
    ]
    await room.assert_observer_sees(("plain", "query ignored"))
    await plain.close()
    await room.assert_unharmed()


@pytest.mark.parametrize("opt_in", DIALECTS)
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1.evil.example"])
async def test_a_cross_origin_handshake_is_refused_with_403(topology, opt_in, origin):
    room = await Room.open(topology)
    url = f"{topology.webs[0].ws_url}/chat/{room.label}/"

    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            url,
            subprotocols=["parley.v1"] if opt_in else None,
            additional_headers={"Origin": origin},
        )

    assert refused.value.response.status_code == 403
    await room.assert_unharmed()


@pytest.mark.parametrize("opt_in", DIALECTS)
@pytest.mark.parametrize("origin", ["same-origin", "localhost", None])
async def test_a_same_origin_or_origin_less_handshake_is_admitted(topology, opt_in, origin):
    room = await Room.open(topology)
    web = topology.webs[0]
    headers = {
        "same-origin": {"Origin": web.url},
        "localhost": {"Origin": f"http://localhost:{web.port}"},
        None: {},
    }[origin]

    async with websockets.connect(
        f"{web.ws_url}/chat/{room.label}/",
        subprotocols=["parley.v1"] if opt_in else None,
        additional_headers=headers,
    ) as member:
        await send_chat(member, "visitor", "admitted")
        room.expected.append(("visitor", "admitted"))
        await room.assert_observer_sees(("visitor", "admitted"))
    await room.assert_unharmed()


async def test_a_websocket_to_any_other_path_is_refused_with_403(topology):
    room = await Room.open(topology)

    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"{topology.webs[0].ws_url}/elsewhere/")

    assert refused.value.response.status_code == 403
    await room.assert_unharmed()


# ------------------------------------------------------------------ floods and overload
async def send_flood(member, frames: list[str]) -> int:
    """Send ``frames`` back to back; return how many went out before the server closed."""
    for sent, text in enumerate(frames):
        try:
            await member.send(text)
        except websockets.ConnectionClosed:
            return sent
    return len(frames)


async def seated_id(watcher, handle: str | None) -> str:
    """The connection id of the next member with ``handle`` that ``watcher`` sees join."""
    while True:
        member = (await recv_until(watcher, "join", timeout=10))["member"]
        if member["handle"] == handle:
            return member["id"]


async def wait_left(watcher, connection_id: str) -> None:
    """Wait until ``watcher`` sees ``connection_id`` leave.

    A socket hands its unacknowledged messages to the workers before it leaves,
    so after this they are queued ahead of anything sent later.
    """
    while (await recv_until(watcher, "leave", timeout=10))["member"]["id"] != connection_id:
        pass


async def test_a_flood_is_rate_limited_in_both_dialects(make_topology):
    burst, flood = 4, 20  # the observer, a member too, sends 4 messages in all
    topology = make_topology(  # one worker: the persist queue is stored in order
        webs=2, workers=1, PARLEY_RATE_PER_SECOND="1", PARLEY_RATE_BURST=str(burst)
    )
    room = await Room.open(topology)
    watcher = await room.join(opt_in=True, handle="watcher")

    # Plain: the first frame over the allowance closes the socket (4429).
    plain = await room.join(opt_in=False)
    plain_id = await seated_id(watcher, None)
    sent = await send_flood(plain, [chat(message=f"p{i}") for i in range(flood)])
    assert (await recv_until_closed(plain))[1] == CLOSE_RATE_LIMITED
    await wait_left(watcher, plain_id)
    stored = await room.observer_collects("after the plain flood")
    assert stored == [("mallory", f"p{i}") for i in range(len(stored))], "not a prefix"
    assert burst <= len(stored) < min(sent, flood)

    # Opted in: each frame over the allowance gets rate_limited naming it; after a
    # burst of those ignored in a row, the socket is closed (4429) too.
    flooder = await room.join(opt_in=True, handle="flooder")
    flooder_id = await seated_id(watcher, "flooder")
    ids = [f"o{i}" for i in range(flood)]
    await send_flood(flooder, [chat(message=cid, client_id=cid) for cid in ids])
    frames, close_code = await recv_until_closed(flooder)
    assert close_code == CLOSE_RATE_LIMITED
    errors = [f for f in frames if f["type"] == "error"]
    assert (errors[-1]["code"], errors[-1]["close"]) == ("rate_limited", CLOSE_RATE_LIMITED)
    assert len(errors) > burst
    assert {f["code"] for f in errors} == {"rate_limited"}
    assert all(f["retry_after"] > 0 for f in errors[:-1])
    refused = {f["client_id"] for f in errors[:-1]}
    acked = {f["client_id"] for f in frames if f["type"] == "ack"}
    await wait_left(watcher, flooder_id)
    stored_ids = [text for _, text in await room.observer_collects("after the flood")]
    assert len(stored_ids) >= burst
    assert acked <= set(stored_ids)
    assert not refused & set(stored_ids), "a refused message was stored"
    assert stored_ids == sorted(stored_ids, key=ids.index), "stored out of order"
    await watcher.close()
    await room.assert_unharmed()


async def test_a_well_behaved_client_resends_after_retry_after(make_topology):
    topology = make_topology(webs=2, workers=1, PARLEY_RATE_PER_SECOND="0.5", PARLEY_RATE_BURST="1")
    room = await Room.open(topology)
    member = await room.join(opt_in=True)

    await send_chat(member, "mallory", "first", client_id="r-1")
    await send_chat(member, "mallory", "second", client_id="r-2")
    error = await recv_error(member)
    assert (error["code"], error["client_id"], "close" in error) == ("rate_limited", "r-2", False)
    ack = await recv_until(member, "ack", timeout=10)
    assert ack["client_id"] == "r-1"
    room.expected.append(("mallory", "first"))
    await room.assert_observer_sees(("mallory", "first"))

    # Waiting retry_after is the client's part of the contract, not a timed assertion.
    await asyncio.sleep(error["retry_after"] + 0.1)
    await room.opted_in_says(member, "second", "r-2")
    await member.close()
    await room.assert_unharmed()


async def test_messages_that_cannot_be_stored_in_time_are_refused(make_topology):
    topology = make_topology(webs=1, workers=0, PARLEY_OUTBOX_LIMIT="1")
    label = create_room(topology.webs[0].url)
    plain = await connect(topology.webs[0].ws_url, label)
    opted_in = await connect(topology.webs[0].ws_url, label, opt_in=True)
    await recv_until(opted_in, "presence")

    # With no worker nothing is acknowledged: one message waits, the next is refused.
    await send_chat(plain, "plain", "waits")
    await send_chat(plain, "plain", "refused")
    assert await recv_until_closed(plain) == ([], CLOSE_TRY_AGAIN_LATER)
    await send_chat(opted_in, "opted", "waits too", client_id="w-1")
    await send_chat(opted_in, "opted", "resent", client_id="w-2")
    error = await recv_error(opted_in)
    assert (error["code"], error["client_id"], "close" in error) == ("overloaded", "w-2", False)

    topology.start_worker()
    ack = await recv_until(opted_in, "ack", timeout=30)
    assert (ack["client_id"], ack["duplicate"]) == ("w-1", False)
    await send_chat(opted_in, "opted", "resent", client_id="w-2")
    ack = await recv_until(opted_in, "ack", timeout=30)
    assert (ack["client_id"], ack["duplicate"]) == ("w-2", False)

    # The waiting messages are kept (the plain one although its socket closed); the
    # refused ones are not, and the opted-in sender's order holds.
    rows = room_rows(topology, label)
    assert sorted(row.message for row in rows) == ["resent", "waits", "waits too"]
    assert [row.client_id for row in rows if row.handle == "opted"] == ["w-1", "w-2"]
    assert_serving(topology)
    await opted_in.close()


# ------------------------------------------------------------------ pages
def http_status(url: str) -> int:
    """GET ``url`` and return the status code (no redirects followed past the answer)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize(
    ("path", "label"),
    [
        pytest.param("/a%20b/", "a b", id="space"),
        pytest.param("/a.b/", "a.b", id="dot"),
        pytest.param(f"/{'x' * 51}/", "x" * 51, id="51-chars"),
        pytest.param("/NEW/", "NEW", id="reserved-new"),
        pytest.param("/Chat/", "Chat", id="reserved-chat"),
        pytest.param("/healthz/", "healthz", id="reserved-healthz"),
        pytest.param("/%3Cscript%3E/", "<script>", id="markup"),
    ],
)
def test_an_invalid_label_page_is_404_and_creates_nothing(topology, path, label):
    assert http_status(topology.webs[0].url + path) == 404
    assert not room_exists(topology, label)
    assert_serving(topology)


def test_a_valid_label_page_is_html_and_creates_the_room(topology):
    label = "Valid_label-42"
    with urllib.request.urlopen(f"{topology.webs[1].url}/{label}/", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert f'<h1 id="room-label">{label}</h1>' in response.read().decode()
    assert room_exists(topology, label)


async def test_markup_in_a_message_is_stored_as_sent_and_shown_as_text(topology):
    handle, text = "<b>eve</b>", "<script>alert(\"x\")</script><img src=x onerror='alert(1)'>&amp;"
    room = await Room.open(topology)
    member = await room.join(opt_in=False)

    await send_chat(member, handle, text)
    room.expected.append((handle, text))
    await room.assert_observer_sees((handle, text))

    page = visit_room(topology.webs[0].url, room.label)
    assert "&lt;b&gt;eve&lt;/b&gt;" in page
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
        "&lt;img src=x onerror=&#x27;alert(1)&#x27;&gt;&amp;amp;"
    ) in page
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "<b>eve" not in page
    await member.close()
    await room.assert_unharmed()
