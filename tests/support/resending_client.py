"""A client that behaves like Parley's page: client ids, acks, reconnect and resend.

It keeps every message it sent until its ack arrives, and after a dropped
socket reconnects (to another server, when told) and sends them all again:
the server's client-id check stores each once.
"""

import asyncio
import json
import time
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed

from tests.support.chat import connect, recv_until
from tests.support.procfile import RoleProcess

HANG_GUARD = 90.0  # seconds: only bounds a hang


@dataclass
class ResendingClient:
    """An opted-in client that resends, after reconnecting, what it saw no ack for."""

    name: str
    label: str
    web: RoleProcess
    pending: dict[str, str] = field(default_factory=dict)  # client_id -> text
    acked: set[str] = field(default_factory=set)
    reconnects: int = 0

    async def run(
        self, count: int, *, fallback: RoleProcess, pace: float = 0.02, ack_within=HANG_GUARD
    ) -> None:
        """Send ``count`` messages, then await their acks (``ack_within`` seconds at most).

        On a dropped socket, it reconnects to ``fallback`` and resends what is pending.
        """
        survivor = fallback
        socket = await self._open(self.web)
        for n in range(count):
            client_id, text = f"{self.name}-{n}", f"{self.name} says {n}"
            self.pending[client_id] = text
            try:
                await socket.send(json.dumps(self._frame(client_id, text)))
            except ConnectionClosed:
                socket = await self._reconnect(survivor)
            await asyncio.sleep(pace)
        socket = await self._await_acks(socket, survivor, ack_within)
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

    async def _await_acks(self, socket, survivor: RoleProcess, ack_within: float):
        deadline = time.monotonic() + ack_within
        while self.pending and time.monotonic() < deadline:
            if self.reader.done():  # dropped after its last send: move and resend
                socket = await self._reconnect(survivor)
            await asyncio.sleep(0.1)
        return socket

    def _frame(self, client_id: str, text: str) -> dict:
        return {"type": "message", "client_id": client_id, "handle": self.name, "message": text}
