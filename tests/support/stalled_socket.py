"""A WebSocket client that stops reading, and what the kernel holds for it.

A stalled client is a plain TCP socket that completes the WebSocket handshake
and then reads nothing: the server's frames pile up in its receive queue
(kept small on purpose), then in the server's send queue, then in the server.
"""

import base64
import os
import socket
import struct
from dataclasses import dataclass

RECEIVE_BUFFER = 4096  # the stalled client's receive queue: small, so the server fills fast


@dataclass
class StalledSocket:
    """A seed-style client of one room that never reads after its handshake."""

    sock: socket.socket

    @classmethod
    def open(cls, port: int, label: str, timeout: float) -> "StalledSocket":
        """Connect and finish the handshake (reading only the 101 response)."""
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /chat/{label}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            response += sock.recv(1)  # byte by byte: read nothing past the handshake
        assert response.startswith(b"HTTP/1.1 101"), response
        return cls(sock)

    @property
    def port(self) -> int:
        """The client's local port (the server's remote port for this socket)."""
        return self.sock.getsockname()[1]

    def read_to_end(self) -> tuple[int, int | None]:
        """Read everything left; return (bytes read, the close code of a close frame seen last)."""
        received = b""
        try:
            while chunk := self.sock.recv(65536):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        finally:
            self.sock.close()
        return len(received), last_close_code(received)


def last_close_code(stream: bytes) -> int | None:
    """The code of the close frame that ends ``stream`` (unmasked server frames), if any."""
    at, code = 0, None
    while at + 2 <= len(stream):
        opcode, length = stream[at] & 0x0F, stream[at + 1] & 0x7F
        at += 2
        if length == 126:
            (length,) = struct.unpack_from("!H", stream, at)
            at += 2
        elif length == 127:
            (length,) = struct.unpack_from("!Q", stream, at)
            at += 8
        if opcode == 0x8 and length >= 2 and at + 2 <= len(stream):
            (code,) = struct.unpack_from("!H", stream, at)
        at += length
    return code


def send_queues(server_port: int, client_ports: set[int]) -> dict[int, int]:
    """Bytes in the server's kernel send queue for each client port (from /proc/net/tcp)."""
    queues: dict[int, int] = {}
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            remote_port = int(fields[2].split(":")[1], 16)
            if local_port == server_port and remote_port in client_ports:
                queues[remote_port] = int(fields[4].split(":")[0], 16)
    return queues


def rss_bytes(pid: int) -> int:
    """A process's resident memory."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise LookupError(f"no VmRSS for {pid}")
