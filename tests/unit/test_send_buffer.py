"""The slow-reader guard between a Twisted transport and its producer."""

import socket

from twisted.internet.testing import StringTransport

from app.ops.send_buffer import SendBufferGuard, guard_send_buffer, limit_kernel_send_buffer


class Upstream:
    """A push producer that records what it was told."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pauseProducing(self) -> None:
        self.calls.append("pause")

    def resumeProducing(self) -> None:
        self.calls.append("resume")

    def stopProducing(self) -> None:
        self.calls.append("stop")


def test_counts_only_while_the_transport_is_full_and_passes_every_call_on() -> None:
    upstream = Upstream()
    guard = SendBufferGuard(upstream, limit=100)

    assert not guard.overflows(1000)  # the transport takes it: nothing counted
    guard.pauseProducing()
    assert not guard.overflows(60)
    assert not guard.overflows(40)  # exactly the limit is still within it
    assert guard.overflows(1)
    guard.resumeProducing()
    assert (guard.paused, guard.written_while_paused) == (False, 0)
    assert not guard.overflows(1000)
    guard.stopProducing()
    assert upstream.calls == ["pause", "resume", "stop"]


def test_takes_the_place_of_the_transport_producer_and_keeps_it_upstream() -> None:
    transport = StringTransport()
    upstream = Upstream()
    transport.registerProducer(upstream, True)

    guard = guard_send_buffer(transport, 4096)

    assert transport.producer is guard
    assert guard.upstream is upstream
    transport.producer.pauseProducing()
    assert upstream.calls == ["pause"]
    assert guard.paused


def test_no_guard_without_a_limit_and_a_guard_without_an_earlier_producer() -> None:
    transport = StringTransport()
    assert guard_send_buffer(transport, 0) is None
    assert transport.producer is None

    guard = guard_send_buffer(transport, 10)
    guard.pauseProducing()  # nothing upstream to tell
    assert guard.overflows(11)


class SocketTransport:
    """A transport over a real socket, as Twisted's TCP transports give theirs."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def getHandle(self) -> socket.socket:
        return self.sock


def test_caps_the_kernel_send_buffer_of_the_socket() -> None:
    with socket.socket() as sock:
        default = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        limit_kernel_send_buffer(SocketTransport(sock), 0)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == default

        limit_kernel_send_buffer(SocketTransport(sock), 8192)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == 2 * 8192  # Linux doubles
        limit_kernel_send_buffer(StringTransport(), 8192)  # no socket: nothing to do
