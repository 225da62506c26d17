"""The opt-in protocol (``parley.v1``) over real sockets, across two interface servers.

Welcome, acks that mean "in Postgres", idempotent client ids, catch-up after a
reconnect, presence, and the truncated catch-up; and the seed clients beside
them, who must only ever see chat messages.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.chat import (
    connect,
    create_room,
    recv_json,
    recv_messages,
    recv_until,
    send_chat,
)
from tests.support.checks import assert_serving, room_rows

CHAT_KEYS = {"type", "id", "handle", "message", "timestamp", "time", "client_id"}


@dataclass
class Member:
    """An opted-in member: its socket, welcome, presence snapshot, and what came between.

    Catch-up (and even live) messages may arrive before the presence snapshot;
    ``backlog`` keeps them for ``messages_through``.
    """

    socket: Any
    welcome: dict[str, Any]
    presence: dict[str, Any]
    backlog: list[dict[str, Any]]

    @property
    def id(self) -> str:
        """The connection id the server gave this member."""
        return self.welcome["connection"]

    async def messages_through(self, last_id: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Chat messages until the one numbered ``last_id`` (other frames skipped)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        got, self.backlog = self.backlog, []
        while not got or got[-1]["id"] < last_id:
            got += await recv_messages(self.socket, 1, timeout=max(0.01, deadline - loop.time()))
        return got

    async def close(self) -> None:
        """Close the socket (the member leaves)."""
        await self.socket.close()


async def join(web, label: str, **query: Any) -> Member:
    """Connect an opted-in member and wait for its presence snapshot (it is seated then)."""
    socket = await connect(web.ws_url, label, opt_in=True, **query)
    welcome = await recv_json(socket)
    assert welcome["type"] == "welcome", welcome
    backlog = []
    while (frame := await recv_json(socket, timeout=10))["type"] != "presence":
        if frame["type"] == "message":
            backlog.append(frame)
    return Member(socket, welcome, frame, backlog)


async def say(member: Member, text: str, client_id: str, handle: str = "ada") -> dict[str, Any]:
    """Send a message with ``client_id`` and return its ack."""
    await send_chat(member.socket, handle, text, client_id=client_id)
    ack = await recv_until(member.socket, "ack", timeout=10)
    assert ack["client_id"] == client_id, ack
    return ack


async def recv_plain(member) -> dict[str, Any]:
    """A plain member's next frame, which must be a chat message."""
    got = await recv_json(member, timeout=10)
    assert set(got) <= CHAT_KEYS, f"a plain member got a non-chat frame: {got}"
    assert {"handle", "message", "timestamp"} <= set(got)
    return got


def member_of(presence: dict[str, Any]) -> dict[str, Any]:
    """A presence entry without the time it joined (which tests cannot know)."""
    return {key: value for key, value in presence.items() if key != "since"}


# ------------------------------------------------------------------ welcome and acks
async def test_an_opted_in_client_is_welcomed_and_a_plain_one_is_not(topology):
    server_a, server_b = topology.webs
    label = create_room(server_a.url)
    plain = await connect(server_a.ws_url, label)
    await send_chat(plain, "seed", "one")
    await send_chat(plain, "seed", "two")
    assert [f["message"] for f in await recv_messages(plain, 2)] == ["one", "two"]

    member = await join(server_b, label, handle="ada")

    assert (plain.subprotocol, member.socket.subprotocol) == (None, "parley.v1")
    assert member.welcome == {
        "type": "welcome",
        "room": label,
        "connection": member.id,
        "last_id": 2,
    }
    members = [member_of(m) for m in member.presence["members"]]
    assert {"id": member.id, "handle": "ada"} in members
    assert [m["handle"] for m in members if m["id"] != member.id] == [None]  # the seed client
    await member.close()
    await plain.close()


async def test_an_ack_means_the_message_is_in_postgres(topology):
    server_a, server_b = topology.webs
    label = create_room(server_a.url)
    sender = await join(server_a, label)
    watcher = await join(server_b, label)
    count = 30

    for i in range(count):
        await send_chat(sender.socket, "ada", f"m{i}", client_id=f"ack-{i}")
    for i in range(count):
        ack = await recv_until(sender.socket, "ack", timeout=10)
        stored = {row.client_id: row for row in room_rows(topology, label)}  # right away
        assert ack == {"type": "ack", "client_id": f"ack-{i}", "id": i + 1, "duplicate": False}
        assert (stored[f"ack-{i}"].seq, stored[f"ack-{i}"].message) == (i + 1, f"m{i}")

    frames = await watcher.messages_through(count)
    assert [(f["id"], f["client_id"]) for f in frames] == [
        (i + 1, f"ack-{i}") for i in range(count)
    ]
    await sender.close()
    await watcher.close()


async def test_a_resent_client_id_is_stored_and_broadcast_once(topology):
    server_a, server_b = topology.webs
    label = create_room(server_a.url)
    sender = await join(server_a, label)
    plain = await connect(server_b.ws_url, label)
    await next_presence(sender, "join")  # the plain member is seated

    first = await say(sender, "first", "dup-1")
    again = await say(sender, "first", "dup-1")
    changed = await say(sender, "the client_id names the message", "dup-1")
    elsewhere = await join(server_b, label)  # a reconnect, to the other server
    moved = await say(elsewhere, "first", "dup-1")
    assert first == {"type": "ack", "client_id": "dup-1", "id": 1, "duplicate": False}
    for ack in (again, changed, moved):
        assert (ack["id"], ack["duplicate"]) == (1, True)

    # Back to back, before the first copy is stored: still one message.
    await send_chat(sender.socket, "ada", "twice", client_id="dup-2")
    await send_chat(sender.socket, "ada", "twice", client_id="dup-2")
    acks = [await recv_until(sender.socket, "ack", timeout=10) for _ in range(2)]
    assert [(a["id"], a["duplicate"]) for a in acks] == [(2, False), (2, True)]
    await say(sender, "after", "dup-3")

    seen = [await recv_plain(plain) for _ in range(3)]
    assert [(f["id"], f["message"]) for f in seen] == [(1, "first"), (2, "twice"), (3, "after")]
    rows = room_rows(topology, label)
    assert [(r.seq, r.client_id, r.message) for r in rows] == [
        (1, "dup-1", "first"),
        (2, "dup-2", "twice"),
        (3, "dup-3", "after"),
    ]
    await plain.close()
    await sender.close()
    await elsewhere.close()


async def test_nobody_can_claim_the_ids_of_a_plain_senders_messages(topology):
    server_a, server_b = topology.webs
    label = create_room(server_a.url)
    mallory = await join(server_b, label, handle="mallory")
    plain = await connect(server_a.ws_url, label)
    plain_id = (await next_presence(mallory, "join"))["id"]  # presence shows it to all

    # The ids the server makes for a plain sender's messages cannot be sent by a client.
    claimed = await say(mallory, "mine", f"{plain_id}.1", handle="mallory")
    await send_chat(mallory.socket, "mallory", "mine too", client_id=f"~{plain_id}.1")
    error = await recv_until(mallory.socket, "error")
    await send_chat(plain, "seed", "not muted")

    assert (claimed["id"], claimed["duplicate"]) == (1, False)
    assert error["code"] == "invalid_client_id"
    seen = [await recv_plain(plain) for _ in range(2)]
    assert [(f["id"], f["message"]) for f in seen] == [(1, "mine"), (2, "not muted")]
    assert seen[1]["client_id"] == f"~{plain_id}.1"
    await plain.close()
    await mallory.close()


# ------------------------------------------------------------------ catch-up
@pytest.mark.parametrize("back_to", ["same-server", "other-server"])
async def test_catch_up_after_a_reconnect_has_no_gap_and_no_repeat(topology, back_to):
    server_a, server_b = topology.webs
    label = create_room(server_a.url)
    sender = await join(server_b, label)
    member = await join(server_a, label)
    for i in range(1, 6):
        await say(sender, f"m{i}", f"c-{i}")
    assert [f["id"] for f in await member.messages_through(5)] == [1, 2, 3, 4, 5]
    await member.close()

    for i in range(6, 16):  # missed while away
        await say(sender, f"m{i}", f"c-{i}")
    # More arrive while it reconnects: catch-up and live delivery must meet exactly.
    racing = asyncio.ensure_future(send_all(sender, range(16, 41)))
    member = await join(server_a if back_to == "same-server" else server_b, label, after=5)
    await racing

    assert member.welcome["last_id"] >= 15
    frames = await member.messages_through(40)
    assert [(f["id"], f["message"]) for f in frames] == [(i, f"m{i}") for i in range(6, 41)]
    await say(sender, "m41", "c-41")  # and live messages go on
    assert [f["id"] for f in await member.messages_through(41)] == [41]
    await member.close()
    await sender.close()


async def send_all(sender: Member, numbers: range) -> None:
    """Send ``m<n>`` for each number, then wait for the last one's ack."""
    for n in numbers:
        await send_chat(sender.socket, "ada", f"m{n}", client_id=f"c-{n}")
    last = f"c-{numbers[-1]}"
    while (await recv_until(sender.socket, "ack", timeout=20))["client_id"] != last:
        pass


@pytest.mark.parametrize(
    ("after", "replayed"),
    [
        pytest.param(0, [1, 2, 3], id="after-0-replays-all"),
        pytest.param(3, [], id="after-the-last"),
        pytest.param(1000, [], id="after-past-the-end"),
    ],
)
async def test_catch_up_from_the_edges(topology, after, replayed):
    server_a, server_b = topology.webs
    label = create_room(server_a.url)
    sender = await join(server_a, label)
    for i in range(1, 4):
        await say(sender, f"m{i}", f"c-{i}")

    member = await join(server_b, label, after=after)
    await say(sender, "m4", "c-4")

    assert member.welcome["last_id"] == 3
    assert [f["id"] for f in await member.messages_through(4)] == [*replayed, 4]
    await member.close()
    await sender.close()


async def test_more_missed_than_the_catch_up_limit_is_announced_as_truncated(make_topology):
    topology = make_topology(webs=2, workers=1, PARLEY_CATCHUP_LIMIT="5")
    server_a, server_b = topology.webs
    label = create_room(server_a.url)
    sender = await join(server_a, label)
    for i in range(1, 13):
        await say(sender, f"m{i}", f"c-{i}")

    socket = await connect(server_b.ws_url, label, opt_in=True, after=2)
    # welcome, presence, truncated, 5 messages (presence events may come in between)
    frames = [await recv_json(socket) for _ in range(8)]
    frames = [f for f in frames if f["type"] not in ("join", "leave")]
    while len(frames) < 8:
        frame = await recv_json(socket)
        if frame["type"] not in ("join", "leave"):
            frames.append(frame)

    assert [f["type"] for f in frames[:3]] == ["welcome", "presence", "truncated"]
    assert frames[2] == {"type": "truncated", "after": 2, "resumes_after": 7}
    assert [(f["type"], f["id"]) for f in frames[3:]] == [("message", i) for i in range(8, 13)]
    await say(sender, "m13", "c-13")
    assert [f["id"] for f in await recv_messages(socket, 1)] == [13]
    assert_serving(topology)
    await socket.close()
    await sender.close()


# ------------------------------------------------------------------ presence
async def test_presence_crosses_servers_and_skips_plain_clients(topology):
    server_a, server_b = topology.webs
    label = create_room(server_a.url)
    alice = await join(server_a, label, handle="alice")

    bob = await join(server_b, label, handle="bob")
    assert sorted(member_of(m)["handle"] for m in bob.presence["members"]) == ["alice", "bob"]
    assert {"id": alice.id, "handle": "alice"} in [member_of(m) for m in bob.presence["members"]]
    assert await next_presence(alice, "join") == {"id": bob.id, "handle": "bob"}

    plain = await connect(server_a.ws_url, label)
    seed = await next_presence(bob, "join")  # from the other server
    assert seed["handle"] is None
    assert await next_presence(alice, "join") == seed

    await send_chat(plain, "seed", "hi from the seed client")
    assert (await recv_plain(plain))["message"] == "hi from the seed client"
    await bob.close()
    assert await next_presence(alice, "leave") == {"id": bob.id, "handle": "bob"}
    await say(alice, "bye bob", "p-1", handle="alice")
    assert (await recv_plain(plain))["message"] == "bye bob"  # no leave frame came first

    await plain.close()
    assert await next_presence(alice, "leave") == seed
    await alice.close()


async def next_presence(member: Member, event: str) -> dict[str, Any]:
    """The member in ``member``'s next ``event`` (join or leave) frame, its own join skipped."""
    while True:
        frame = await recv_until(member.socket, event, timeout=10)
        if frame["member"]["id"] != member.id:
            return member_of(frame["member"])
