"""A client that behaves like Parley's page, over asyncio sockets: the shared client model.

What to send, what to resend after a reconnect, the ``?after=`` cursor, the
backoff and the check of the room's sequence live in
``loadtest/client_model.py``, which the Locust users drive too; this module
only moves its frames over real sockets. A client keeps every message it sent
until the server settles it, and after a dropped socket reconnects (with
backoff and jitter, to the server ``choose`` names) and writes them all again:
the server's client-id check stores each once.
"""

import asyncio
import contextlib
import random
from collections.abc import Callable

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from loadtest.client_model import ClientModel, Received
from tests.support.chat import connect
from tests.support.procfile import RoleProcess

HANG_GUARD = 90.0  # seconds: only bounds a hang

# Given the ws base of the last connection (None at first), the one to connect to next.
Chooser = Callable[[str | None], str]


class ResendingClient:
    """An opted-in member of one room that resends, after reconnecting, what was not settled."""

    def __init__(
        self, name: str, label: str, web: RoleProcess | None = None, *, after: int | None = None
    ) -> None:
        self.name = name
        self.label = label
        self.web = web
        self.model = ClientModel(name, after=after)
        self.messages: list[tuple[int, str | None]] = []  # (id, client_id) of each new message
        self.server: str | None = None  # the ws base of the open socket
        self.admitted = False  # the open socket got its welcome: it is in the room
        self._socket = None
        self._closing = False
        self._wake = asyncio.Event()  # something to write
        self._settled = asyncio.Event()  # nothing left in the outbox
        self._settled.set()

    @property
    def pending(self) -> list[str]:
        """Client ids sent but not yet settled (acked or seen stored), in the order sent."""
        return self.model.pending

    @property
    def acked(self) -> set[str]:
        """Client ids the server acknowledged."""
        return set(self.model.acked)

    @property
    def reconnects(self) -> int:
        """Sockets opened after the first one."""
        return self.model.counts["reconnects"]

    def send(self, text: str, client_id: str) -> None:
        """Queue a message; it is written now if connected, or after the next connect."""
        self.model.message(text, client_id)
        self._settled.clear()
        self._wake.set()

    async def run(
        self, count: int, *, fallback: RoleProcess, pace: float = 0.02, ack_within=HANG_GUARD
    ) -> None:
        """Send ``count`` messages, then await their acks (``ack_within`` seconds at most).

        Connects to ``web``; after a dropped socket, reconnects to ``fallback``.
        """
        assert self.web is not None
        first = self.web.ws_url
        connection = asyncio.ensure_future(
            self.stay_connected(lambda last: first if last is None else fallback.ws_url)
        )
        for n in range(count):
            self.send(f"{self.name} says {n}", f"{self.name}-{n}")
            await asyncio.sleep(pace)
        await self.settle(ack_within)
        await self.close()
        await connection

    async def chatter(self, pace: float, until: asyncio.Event) -> int:
        """Send a message every ``pace`` seconds until ``until`` is set; return how many."""
        sent = 0
        with contextlib.suppress(TimeoutError):  # clients that start together do not send together
            await asyncio.wait_for(until.wait(), random.uniform(0, pace))
        while not until.is_set():
            self.send(f"{self.name} says {sent}", f"{self.name}-{sent}")
            sent += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(until.wait(), pace)
        return sent

    async def settle(self, within: float) -> bool:
        """Wait (``within`` seconds at most) until every message is settled; say whether."""
        try:
            await asyncio.wait_for(self._settled.wait(), within)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Leave: close the socket and stop reconnecting."""
        self._closing = True
        if self._socket is not None:
            await self._socket.close()

    # The connection -------------------------------------------------------------

    async def stay_connected(self, choose: Chooser) -> None:
        """Keep a socket open, reconnecting with the model's backoff, until ``close``."""
        last: str | None = None
        while not self._closing:
            base = choose(last)
            try:
                socket = await connect(base, self.label, opt_in=True, **self.model.query())
            except (OSError, InvalidHandshake, TimeoutError):
                await asyncio.sleep(self.model.connect_failed())
                continue
            last = base
            code = await self._serve(socket, base)
            delay = self.model.closed(code)
            if delay is None:
                raise RuntimeError(f"{self.name}: room {self.label} is gone (close code {code})")
            if not self._closing:
                await asyncio.sleep(delay)

    async def _serve(self, socket, base: str) -> int | None:
        """Read the socket until it closes, writing what the model hands out meanwhile."""
        self._socket, self.server = socket, base
        if self._closing:  # close() came while this socket was opening
            await socket.close()
        self.model.opened()
        self._wake.set()
        writer = asyncio.ensure_future(self._write(socket))
        loop = asyncio.get_running_loop()
        try:
            async for data in socket:
                self._on(self.model.receive(data, loop.time()))
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()
            self._socket, self.server, self.admitted = None, None, False
        return socket.close_code

    async def _write(self, socket) -> None:
        """The socket's only writer: frames go out in the model's order, resends first."""
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                for frame in self.model.to_send(loop.time()):
                    await socket.send(frame)
            except ConnectionClosed:
                return
            retry_in = None
            if self.model.resend_at is not None:
                retry_in = max(0.0, self.model.resend_at - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), retry_in)

    def _on(self, received: Received) -> None:
        if received.kind == "welcome":
            self.admitted = True
        elif received.kind == "message" and received.new and "id" in received.frame:
            self.messages.append((received.frame["id"], received.frame.get("client_id")))
        if not self.model.outbox:
            self._settled.set()
