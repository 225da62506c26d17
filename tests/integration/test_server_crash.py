"""An interface server killed with SIGKILL under load: no acknowledged message lost, no zombie.

Senders on both servers send steadily; one server is killed mid-stream. Its
clients reconnect to the survivor and resend what they saw no ack for, as
Parley's page does. Every message must end up stored exactly once, every
sender must get an ack for each, and Redis must forget the dead server's room
membership soon after (memberships expire after three resyncs: 6 s here).
"""

import asyncio
import json
import os
import signal
import time

import pytest
import redis

from tests.support.chat import connect, create_room
from tests.support.checks import room_rows
from tests.support.procfile import RoleProcess
from tests.support.resending_client import ResendingClient

HANG_GUARD = 60.0  # seconds: only bounds a hang
PER_SENDER = 40


async def survivor_still_hears(survivor: RoleProcess, label: str) -> bool:
    """Whether a message sent on the survivor comes back through the room's group."""
    socket = await connect(survivor.ws_url, label)
    await socket.send(json.dumps({"handle": "late", "message": "after the expiry"}))
    while True:  # a plain client receives chat messages only
        frame = json.loads(await asyncio.wait_for(socket.recv(), HANG_GUARD))
        if frame["message"] == "after the expiry":
            await socket.close()
            return True


@pytest.mark.fault
async def test_sigkill_of_a_server_loses_nothing_and_leaves_no_membership(
    make_topology, fault_report
) -> None:
    topology = make_topology(
        webs=2,
        workers=1,
        PARLEY_RESYNC_SECONDS="2",
        PARLEY_RATE_PER_SECOND="1000",  # steady senders, and bursts of resends
        PARLEY_RATE_BURST="1000",
    )
    survivor, doomed = topology.webs
    label = create_room(survivor.url)
    senders = [ResendingClient(f"s{i}", label, (survivor, doomed)[i % 2]) for i in range(6)]
    layer = redis.Redis.from_url(topology.env["REDIS_URL"], decode_responses=True)
    group = f"parley:group:room.{label}"

    sending = asyncio.gather(*(sender.run(PER_SENDER, fallback=survivor) for sender in senders))
    await asyncio.sleep(0.5)
    assert layer.zcard(group) == 2  # one hub per server
    os.killpg(doomed.process.pid, signal.SIGKILL)
    killed = time.monotonic()
    await sending
    all_acked = time.monotonic() - killed
    deadline = killed + HANG_GUARD
    while layer.zcard(group) > 1 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    forgotten = time.monotonic() - killed

    stored = [(row.client_id, row.message) for row in room_rows(topology, label)]
    sent = {s.name: [f"{s.name}-{n}" for n in range(PER_SENDER)] for s in senders}
    expected = {(f"{s.name}-{n}", f"{s.name} says {n}") for s in senders for n in range(PER_SENDER)}
    fault_report.count(
        "SIGKILL of 1 of 2 interface servers, 6 senders",
        sent=sent,
        stored=[cid for cid, _ in stored],
        acked=sum(len(s.acked) for s in senders),
        recovery_s=all_acked,
    )
    print(
        f"\n{len(stored)} stored; {sum(s.reconnects for s in senders)} reconnects; the dead "
        f"server's membership was gone {forgotten:.1f} s after the kill"
    )
    assert not [s.pending for s in senders if s.pending], "a message never got its ack"
    assert sorted(stored) == sorted(expected)  # each exactly once
    assert layer.zcard(group) == 1
    assert await survivor_still_hears(survivor, label)  # the one left is the survivor's
    for sender in senders:  # each sender's order kept
        mine = [cid for cid, _ in stored if cid.startswith(f"{sender.name}-")]
        assert mine == [f"{sender.name}-{n}" for n in range(PER_SENDER)]
