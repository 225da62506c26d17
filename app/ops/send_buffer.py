"""What an interface server holds for a socket that does not read, and its bound.

A WebSocket server writes to a peer faster than a stalled peer reads: the bytes
wait first in the kernel's send queue (which Linux lets grow to megabytes per
socket) and then in Twisted's buffer, with no limit in ASGI, since sending to a
socket never waits. Two bounds keep that finite:

- the kernel's share, with ``SO_SNDBUF`` on the connection (Linux doubles it);
- Twisted's share: a transport tells its producer to pause once its own buffer
  passes 64 KiB and to resume once it has drained. ``SendBufferGuard`` sits
  between the transport and that producer and counts the bytes written while
  the transport is paused; past a limit, the socket is a slow reader.
"""

import logging
import socket

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

logger = logging.getLogger(__name__)


@implementer(IPushProducer)
class SendBufferGuard:
    """The transport's producer, counting what is written while the transport is full.

    Pause and resume are passed on to the producer that was registered before
    (daphne leaves the HTTP channel there, which stops reading a socket it
    cannot write to), so nothing changes for it.
    """

    def __init__(self, upstream: IPushProducer | None, limit: int) -> None:
        self.upstream = upstream
        self.limit = limit
        self.paused = False
        self.written_while_paused = 0

    def pauseProducing(self) -> None:
        """The transport's buffer is full: count from here."""
        self.paused = True
        if self.upstream is not None:
            self.upstream.pauseProducing()

    def resumeProducing(self) -> None:
        """The transport's buffer has drained: the peer reads again."""
        self.paused = False
        self.written_while_paused = 0
        if self.upstream is not None:
            self.upstream.resumeProducing()

    def stopProducing(self) -> None:
        """The connection is gone."""
        if self.upstream is not None:
            self.upstream.stopProducing()

    def overflows(self, size: int) -> bool:
        """Count ``size`` bytes about to be written; true once past the limit while paused."""
        if not self.paused:
            return False
        self.written_while_paused += size
        return self.written_while_paused > self.limit


def guard_send_buffer(transport, limit: int) -> SendBufferGuard | None:
    """Put a ``SendBufferGuard`` in front of ``transport``'s producer (none for 0)."""
    if limit <= 0 or not hasattr(transport, "producer"):
        return None
    upstream = transport.producer
    if upstream is not None:
        transport.unregisterProducer()
    guard = SendBufferGuard(upstream, limit)
    transport.registerProducer(guard, True)
    return guard


def limit_kernel_send_buffer(transport, size: int) -> None:
    """Cap the kernel's send queue of ``transport``'s socket near ``size`` bytes (0: keep)."""
    if size <= 0 or not hasattr(transport, "getHandle"):
        return
    try:
        transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    except OSError as error:  # not a socket (a test transport), or already closed
        logger.debug("SO_SNDBUF not set: %s", error)
