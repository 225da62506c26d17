"""Daphne with a bound on what it holds for each socket: the Procfile's ``web`` line.

    python -m app.ops.interface_server [daphne's own arguments] app.config.asgi:application

It is daphne's command line (every flag the same) with one server class
swapped in, as daphne's ``CommandLineInterface.server_class`` allows: each
WebSocket gets a capped kernel send queue and a ``SendBufferGuard``, and a
socket that lets more than its limit pile up while it does not read is closed
with the slow-reader code. What it holds is then bounded, and nothing more is
written to it. The limits come from ``configure`` (the ASGI module calls it at
import, before daphne builds its server).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol

from app.ops.send_buffer import guard_send_buffer, limit_kernel_send_buffer

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SendLimits:
    """What each socket may hold: 0 in either size leaves that part unbounded."""

    buffer_bytes: int = 0  # written while the transport is full, before closing
    kernel_bytes: int = 0  # SO_SNDBUF
    close_code: int = 1000  # sent to a slow reader
    on_close: Callable[[], None] = lambda: None  # counts the closes


class BoundedWebSocketProtocol(WebSocketProtocol):
    """Daphne's WebSocket protocol, closing a socket that holds too much unsent."""

    limits = SendLimits()
    guard = None

    def connectionMade(self) -> None:
        """Bound the kernel's and Twisted's share of this socket's unsent bytes."""
        super().connectionMade()
        limit_kernel_send_buffer(self.transport, self.limits.kernel_bytes)
        self.guard = guard_send_buffer(self.transport, self.limits.buffer_bytes)

    def serverSend(self, content, binary=False) -> None:
        """Send ``content``, unless the socket is closing or holds too much already."""
        if self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            return  # the frame can no longer go out (autobahn would raise)
        guard = self.guard
        if guard is not None and guard.paused and guard.overflows(_size(content, binary)):
            self._close_slow_reader()
            return
        super().serverSend(content, binary)

    def _close_slow_reader(self) -> None:
        logger.warning(
            "Closing a slow reader %s: over %d bytes unsent",
            self.client_addr,
            self.limits.buffer_bytes,
        )
        self.limits.on_close()
        # The close frame queues behind what is unsent; autobahn drops the
        # connection if the peer does not answer it in time.
        self.serverClose(code=self.limits.close_code)


def _size(content, binary: bool) -> int:
    return len(content) if binary else len(content.encode("utf8"))


def configure(limits: SendLimits) -> None:
    """Set the limits of every WebSocket opened from now on."""
    BoundedWebSocketProtocol.limits = limits


class BoundedServer(Server):
    """Daphne's server, building its WebSockets with ``BoundedWebSocketProtocol``."""

    @property
    def ws_factory(self):
        """The WebSocket factory daphne builds in ``run``."""
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory) -> None:
        factory.protocol = BoundedWebSocketProtocol
        self._ws_factory = factory


class BoundedCommandLineInterface(CommandLineInterface):
    """Daphne's command line, serving with ``BoundedServer``."""

    server_class = BoundedServer
