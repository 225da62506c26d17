"""The split topology, started from the Procfile: two web servers, two workers."""

import asyncio
import html
import json
import re
from typing import Any

import pytest
from websockets.protocol import State

from tests.support.chat import connect, create_room, recv_messages, send_chat, visit_room
from tests.support.checks import room_rows

HISTORY_ROW_RE = re.compile(
    r'<tr data-id="(\d+)">.*?<td class="handle">(.*?)</td><td class="text">(.*?)</td></tr>'
)
PAGE_HISTORY_LIMIT = 50  # PARLEY_HISTORY_LIMIT's default: the page shows the last 50
Entry = tuple[int, str, str]  # (id, handle, message)


async def test_message_reaches_members_on_both_servers_once_in_order(topology):
    server_a, server_b = topology.webs
    label = create_room(server_a.url)
    members = [
        await connect(server.ws_url, label) for server in (server_a, server_a, server_b, server_b)
    ]
    sender = members[0]
    texts = [f"m{i}" for i in range(40)]
    for text in texts:
        await send_chat(sender, "alice", text)
    received = await asyncio.gather(*(recv_messages(m, len(texts)) for m in members))
    for frames in received:
        assert [f["message"] for f in frames] == texts
        assert [f["id"] for f in frames] == list(range(1, len(texts) + 1))
        assert all(f["handle"] == "alice" and f["timestamp"] for f in frames)
    for server in (server_a, server_b):
        page = visit_room(server.url, label)
        config = page.split('id="parley-config" type="application/json">')[1].split("<")[0]
        assert json.loads(config)["lastId"] == len(texts)
        assert page.index(">m0<") < page.index(">m39<")
    for member in members:
        await member.close()


async def test_concurrent_senders_on_both_servers_share_one_order(topology):
    servers = topology.webs
    label = create_room(servers[1].url)
    # Four senders (plain and opted-in, two per server) and a listener of each kind per server.
    senders = [await connect(servers[n % 2].ws_url, label, opt_in=n >= 2) for n in range(4)]
    listeners = [
        await connect(server.ws_url, label, opt_in=opt_in)
        for server in servers
        for opt_in in (False, True)
    ]
    members = senders + listeners
    outgoing = {f"s{n}": [f"s{n} #{i:02d}" for i in range(25)] for n in range(len(senders))}
    total = sum(map(len, outgoing.values()))
    try:
        receiving = [asyncio.ensure_future(recv_messages(m, total, timeout=60)) for m in members]
        await send_concurrently(senders, outgoing)
        received = [entries(frames) for frames in await asyncio.gather(*receiving)]
        await asyncio.gather(*(assert_no_more_messages(m) for m in members))
    finally:
        await asyncio.gather(*(m.close() for m in members))

    reference = received[0]
    assert [entry[0] for entry in reference] == list(range(1, total + 1))
    sent = [text for texts in outgoing.values() for text in texts]
    assert sorted(entry[2] for entry in reference) == sorted(sent)
    for seen in received[1:]:
        assert seen == reference
    for handle, texts in outgoing.items():
        assert [message for _, h, message in reference if h == handle] == texts
    stored = [(row.seq, row.handle, row.message) for row in room_rows(topology, label)]
    assert stored == reference
    for server in servers:
        assert page_history(visit_room(server.url, label)) == reference[-PAGE_HISTORY_LIMIT:]


async def test_hundreds_of_sockets_on_one_server_all_receive(topology):
    server = topology.webs[0]
    label = create_room(server.url)
    members = await open_sockets(server.ws_url, label, count=320, batch=40)
    senders = members[:3]
    outgoing = {f"p{n}": [f"p{n} #{i}" for i in range(5)] for n in range(len(senders))}
    total = sum(map(len, outgoing.values()))
    try:
        receiving = [asyncio.ensure_future(recv_messages(m, total, timeout=90)) for m in members]
        await send_concurrently(senders, outgoing)
        received = [entries(frames) for frames in await asyncio.gather(*receiving)]
        assert all(member.state is State.OPEN for member in members)
    finally:
        await close_sockets(members)

    reference = received[0]
    assert [entry[0] for entry in reference] == list(range(1, total + 1))
    for handle, texts in outgoing.items():
        assert [message for _, h, message in reference if h == handle] == texts
    assert all(seen == reference for seen in received)


@pytest.mark.slow
async def test_idle_sockets_stay_open_and_still_receive(topology):
    servers = topology.webs
    label = create_room(servers[0].url)
    members = [
        await connect(server.ws_url, label, opt_in=opt_in)
        for server in servers
        for opt_in in (False, True)
        for _ in range(3)
    ]
    try:
        # Opted-in sockets got welcome and presence frames: read them so none waits unread.
        await asyncio.gather(*(drain(m) for m in members))
        await asyncio.sleep(65)  # longer than daphne's ping interval and Redis' timeouts
        assert [m.close_code for m in members] == [None] * len(members)
        assert all(member.state is State.OPEN for member in members)
        plain_on_a, opted_in_on_b = members[0], members[-1]
        await send_chat(plain_on_a, "plain", "after the pause")
        first = await asyncio.gather(*(recv_messages(m, 1, timeout=30) for m in members))
        await send_chat(opted_in_on_b, "opted", "and another", client_id="idle-1")
        second = await asyncio.gather(*(recv_messages(m, 1, timeout=30) for m in members))
    finally:
        await asyncio.gather(*(m.close() for m in members))
    expected = [(1, "plain", "after the pause"), (2, "opted", "and another")]
    for before, after in zip(first, second, strict=True):
        assert entries(before + after) == expected


# ------------------------------------------------------------------ helpers
async def send_concurrently(senders: list, outgoing: dict[str, list[str]]) -> None:
    """Each sender sends its handle's texts in order, all senders at once."""
    await asyncio.gather(
        *(send_all(s, h, texts) for s, (h, texts) in zip(senders, outgoing.items(), strict=True))
    )


async def send_all(socket, handle: str, texts: list[str]) -> None:
    """Send ``texts`` as ``handle`` one after another, as fast as the socket takes them."""
    for text in texts:
        await send_chat(socket, handle, text)


def entries(frames: list[dict[str, Any]]) -> list[Entry]:
    """Reduce message frames to ``(id, handle, message)``."""
    return [(frame["id"], frame["handle"], frame["message"]) for frame in frames]


async def open_sockets(ws_base: str, label: str, *, count: int, batch: int) -> list:
    """Open ``count`` plain sockets to ``label``, ``batch`` at a time concurrently."""
    opened: list = []
    try:
        while len(opened) < count:
            size = min(batch, count - len(opened))
            opened += await asyncio.gather(*(connect(ws_base, label) for _ in range(size)))
    except BaseException:
        await close_sockets(opened)
        raise
    return opened


async def close_sockets(sockets: list, batch: int = 100) -> None:
    """Close ``sockets``, ``batch`` at a time."""
    for start in range(0, len(sockets), batch):
        await asyncio.gather(*(s.close() for s in sockets[start : start + batch]))


async def drain(socket, quiet: float = 1.0) -> None:
    """Read and drop frames until none arrives for ``quiet`` seconds."""
    while True:
        try:
            await asyncio.wait_for(socket.recv(), quiet)
        except TimeoutError:
            return


async def assert_no_more_messages(socket, seconds: float = 1.0) -> None:
    """Fail if a chat message arrives within ``seconds`` (acks and presence may)."""
    try:
        await recv_messages(socket, 1, timeout=seconds)
    except TimeoutError:
        return
    raise AssertionError("a message arrived after the last one expected (a duplicate?)")


def page_history(page: str) -> list[Entry]:
    """The history rows a room page shows, in page order."""
    return [
        (int(seq), html.unescape(handle), html.unescape(message))
        for seq, handle, message in HISTORY_ROW_RE.findall(page)
    ]
