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
from dataclasses import dataclass, field

import redis
from websockets.exceptions import ConnectionClosed

from tests.support.chat import connect, create_room, recv_until
from tests.support.checks import room_rows
from tests.support.procfile import RoleProcess

HANG_GUARD = 60.0  # seconds: only bounds a hang
PER_SENDER = 40


@dataclass
class Sender:
    """An opted-in client that resends, after reconnecting, what it saw no ack for."""

    name: str
    label: str
    web: RoleProcess
    pending: dict[str, str] = field(default_factory=dict)  # client_id -> text
    acked: set[str] = field(default_factory=set)
    reconnects: int = 0

    async def run(self, survivor: RoleProcess) -> None:
        """Send PER_SENDER messages; on a dropped socket, move to ``survivor`` and resend."""
        socket = await self._open(self.web)
        for n in range(PER_SENDER):
            client_id, text = f"{self.name}-{n}", f"{self.name} says {n}"
            self.pending[client_id] = text
            try:
                await socket.send(json.dumps(self._frame(client_id, text)))
            except ConnectionClosed:
                socket = await self._reconnect(survivor)
            await asyncio.sleep(0.02)
        socket = await self._await_acks(socket, survivor)
        await socket.close()

    async def _open(self, web: RoleProcess):
        socket = await connect(web.ws_url, self.label, opt_in=True, handle=self.name)
        await recv_until(socket, "presence", timeout=HANG_GUARD)
        self.reader = asyncio.ensure_future(self._read_acks(socket))
        return socket

    async def _reconnect(self, survivor: RoleProcess):
        self.reconnects += 1
        socket = await self._open(survivor)
        for client_id, text in list(self.pending.items()):
            await socket.send(json.dumps(self._frame(client_id, text)))
        return socket

    async def _read_acks(self, socket) -> None:
        try:
            async for raw in socket:
                frame = json.loads(raw)
                if frame.get("type") == "ack":
                    self.pending.pop(frame["client_id"], None)
                    self.acked.add(frame["client_id"])
        except ConnectionClosed:
            pass

    async def _await_acks(self, socket, survivor: RoleProcess):
        deadline = time.monotonic() + HANG_GUARD
        while self.pending and time.monotonic() < deadline:
            if self.reader.done():  # dropped after its last send: move and resend
                socket = await self._reconnect(survivor)
            await asyncio.sleep(0.1)
        return socket

    def _frame(self, client_id: str, text: str) -> dict:
        return {"type": "message", "client_id": client_id, "handle": self.name, "message": text}


async def survivor_still_hears(survivor: RoleProcess, label: str) -> bool:
    """Whether a message sent on the survivor comes back through the room's group."""
    socket = await connect(survivor.ws_url, label)
    await socket.send(json.dumps({"handle": "late", "message": "after the expiry"}))
    while True:  # a plain client receives chat messages only
        frame = json.loads(await asyncio.wait_for(socket.recv(), HANG_GUARD))
        if frame["message"] == "after the expiry":
            await socket.close()
            return True


async def test_sigkill_of_a_server_loses_nothing_and_leaves_no_membership(make_topology) -> None:
    topology = make_topology(
        webs=2,
        workers=1,
        PARLEY_RESYNC_SECONDS="2",
        PARLEY_RATE_PER_SECOND="1000",  # steady senders, and bursts of resends
        PARLEY_RATE_BURST="1000",
    )
    survivor, doomed = topology.webs
    label = create_room(survivor.url)
    senders = [Sender(f"s{i}", label, (survivor, doomed)[i % 2]) for i in range(6)]
    layer = redis.Redis.from_url(topology.env["REDIS_URL"], decode_responses=True)
    group = f"parley:group:room.{label}"

    sending = asyncio.gather(*(sender.run(survivor) for sender in senders))
    await asyncio.sleep(0.5)
    assert layer.zcard(group) == 2  # one hub per server
    os.killpg(doomed.process.pid, signal.SIGKILL)
    killed = time.monotonic()
    await sending
    deadline = killed + HANG_GUARD
    while layer.zcard(group) > 1 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    forgotten = time.monotonic() - killed

    stored = [(row.client_id, row.message) for row in room_rows(topology, label)]
    expected = {(f"{s.name}-{n}", f"{s.name} says {n}") for s in senders for n in range(PER_SENDER)}
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
