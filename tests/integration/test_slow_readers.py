"""Sockets that stop reading in a busy room: what they hold is bounded, and they are closed.

Fifty stalled clients (a handshake, then no reads) sit in a room where one
member sends 1,000-character messages as fast as the rate limit lets it and
another reads every one. The interface server caps each socket's kernel send
queue (``PARLEY_SOCKET_SEND_BUFFER_BYTES``) and closes a socket that lets
more than ``PARLEY_SEND_BUFFER_BYTES`` pile up while it does not read, with
4408 (docs/protocol.md). Printed: the server's memory and the kernel's send
queues for the stalled sockets, at their peak and after; asserted: every
stalled socket is closed, each send queue stayed within its cap, and the
reading member got every message, in order.
"""

import asyncio
import json
import time

import pytest

from tests.support.chat import connect, create_room, recv_messages, recv_until
from tests.support.checks import room_rows
from tests.support.stalled_socket import StalledSocket, rss_bytes, send_queues

CLOSE_SLOW_READER = 4408  # docs/protocol.md
HANG_GUARD = 60.0  # seconds: only bounds a hang
STALLED = 50
MESSAGES = 600
TEXT = "x" * 1000
KERNEL_CAP = 65536  # PARLEY_SOCKET_SEND_BUFFER_BYTES here; Linux doubles it
UNSENT_CAP = 131072  # PARLEY_SEND_BUFFER_BYTES here
WINDOW = 20  # messages the sender sends before awaiting their acks


async def chat_while_sampling(topology, label, stalled) -> dict:
    """Send MESSAGES from one member, read them at another; sample memory and queues."""
    web = topology.webs[0]
    reader = await connect(web.ws_url, label, opt_in=True, handle="reader")
    sender = await connect(web.ws_url, label, opt_in=True, handle="sender")
    for member in (reader, sender):
        await recv_until(member, "presence", timeout=HANG_GUARD)
    ports = {socket.port for socket in stalled}
    peak = {"rss": rss_bytes(web.process.pid), "queues": 0, "largest_queue": 0, "acked": 0}
    started = time.monotonic()
    received = asyncio.ensure_future(recv_messages(reader, MESSAGES, timeout=HANG_GUARD))
    for first in range(0, MESSAGES, WINDOW):
        for n in range(first, first + WINDOW):
            frame = {"type": "message", "handle": "sender", "message": f"{n} {TEXT}"}
            await sender.send(json.dumps({**frame, "client_id": f"s-{n}"}))
        # As a well-behaved client does: no more than a window awaits its acks.
        peak["acked"] += await count_acks(sender, WINDOW)
        queues = send_queues(web.port, ports)
        peak["rss"] = max(peak["rss"], rss_bytes(web.process.pid))
        peak["queues"] = max(peak["queues"], sum(queues.values()))
        peak["largest_queue"] = max(peak["largest_queue"], max(queues.values(), default=0))
        if not queues:
            peak.setdefault("all_closed_s", time.monotonic() - started)
    peak["received"] = [int(frame["message"].split()[0]) for frame in await received]
    for member in (reader, sender):
        await member.close()
    return peak


async def count_acks(sender, count: int) -> int:
    """Read the sender's frames until ``count`` acks came."""
    acks = 0
    while acks < count:
        frame = json.loads(await asyncio.wait_for(sender.recv(), HANG_GUARD))
        acks += frame.get("type") == "ack"
    return acks


def wait_until_closed_by_server(topology, ports: set[int]) -> None:
    """Wait until the server holds none of the stalled sockets (bounded by HANG_GUARD)."""
    deadline = time.monotonic() + HANG_GUARD
    while send_queues(topology.webs[0].port, ports) and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.mark.fault
async def test_stalled_readers_are_bounded_and_closed_while_the_room_chats(
    make_topology, fault_report
) -> None:
    topology = make_topology(
        webs=1,
        workers=1,
        PARLEY_RATE_PER_SECOND="1000",
        PARLEY_RATE_BURST="1000",
        PARLEY_SEND_BUFFER_BYTES=str(UNSENT_CAP),
        PARLEY_SOCKET_SEND_BUFFER_BYTES=str(KERNEL_CAP),
    )
    web = topology.webs[0]
    label = create_room(web.url)
    before = rss_bytes(web.process.pid)
    stalled = [StalledSocket.open(web.port, label, HANG_GUARD) for _ in range(STALLED)]
    ports = {socket.port for socket in stalled}

    peak = await chat_while_sampling(topology, label, stalled)
    wait_until_closed_by_server(topology, ports)
    closed_s = peak.get("all_closed_s")
    seen = [socket.read_to_end() for socket in stalled]
    after = rss_bytes(web.process.pid)
    log = web.log_path.read_text(errors="replace")

    mib = 1 / 2**20
    when = "after the last message" if closed_s is None else f"{closed_s:.1f} s into the chat"
    read_code = sum(code == CLOSE_SLOW_READER for _, code in seen)
    print(
        f"\n{STALLED} stalled sockets, {MESSAGES} x {len(TEXT)}-char messages: server RSS "
        f"{before * mib:.1f} MiB before, {peak['rss'] * mib:.1f} at peak, {after * mib:.1f} "
        f"after; kernel send queues of the stalled sockets {peak['queues'] * mib:.1f} MiB at "
        f"peak (largest {peak['largest_queue'] // 1024} KiB); all closed {when}; {read_code} "
        "of them read the close code 4408 behind what was queued, the rest were reset"
    )
    stored = [row.client_id for row in room_rows(topology, label)]
    fault_report.count(
        f"{STALLED} sockets that never read in a busy room",
        sent={"sender": [f"s-{n}" for n in range(MESSAGES)]},
        stored=stored,
        acked=peak["acked"],
        recovery_s=closed_s,
    )
    assert log.count("Closing a slow reader") == STALLED
    assert not send_queues(web.port, ports)
    assert peak["largest_queue"] <= 2 * KERNEL_CAP
    assert peak["received"] == list(range(MESSAGES))
    assert "Traceback" not in log
