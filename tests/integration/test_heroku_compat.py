"""What Heroku asks of Parley: Heroku Redis over TLS, and sockets kept alive past its router."""

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from tests.support.chat import connect, create_room, recv_messages, send_chat
from tests.support.procfile import free_port

PASSWORD = "heroku-style-password"


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[str]:
    """A redis-server speaking only TLS with a self-signed certificate, as Heroku Redis does.

    Yields its URL in Heroku's form: ``rediss://:PASSWORD@host:port``.
    """
    key, cert = tmp_path / "redis.key", tmp_path / "redis.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=ec2-1-2-3-4.compute-1.amazonaws.com",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert), "--tls-key-file", str(key),
         "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
         "--requirepass", PASSWORD, "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    wait_for_port(port)
    yield f"rediss://:{PASSWORD}@127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Wait until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


async def test_chat_runs_on_heroku_style_tls_redis(make_topology, tls_redis):
    topology = make_topology(webs=1, workers=1, REDIS_URL=tls_redis)
    web = topology.webs[0]
    label = create_room(web.url)
    members = [await connect(web.ws_url, label) for _ in range(2)]
    await send_chat(members[0], "heroku", "over TLS")
    for member in members:
        [frame] = await recv_messages(member, 1)
        assert frame["message"] == "over TLS"
    for member in members:
        await member.close()
    for process in [*topology.webs, *topology.workers]:
        process.assert_running()


def server_pings(host: str, port: int, path: str, seconds: float) -> int:
    """Hold an idle socket open for ``seconds``, answering pings; return how many came."""
    protocol = ClientProtocol(parse_uri(f"ws://{host}:{port}{path}"))
    pings = 0
    with socket.create_connection((host, port)) as sock:
        protocol.send_request(protocol.connect())
        sock.sendall(b"".join(protocol.data_to_send()))
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            assert data, "the server closed the idle socket"
            protocol.receive_data(data)
            events = protocol.events_received()
            pings += sum(isinstance(e, Frame) and e.opcode == Opcode.PING for e in events)
            sock.sendall(b"".join(protocol.data_to_send()))  # the pongs
    return pings


def test_server_pings_an_idle_socket_at_the_configured_interval(make_topology):
    # Heroku's router closes a WebSocket idle for 55 s; daphne's pings keep it busy.
    topology = make_topology(webs=1, workers=1, WEBSOCKET_PING_INTERVAL="2")
    web = topology.webs[0]
    label = create_room(web.url)
    # Over 10 s at a 2 s interval daphne pings about five times; well over one proves
    # the interval came from WEBSOCKET_PING_INTERVAL (the default would give none).
    assert server_pings("127.0.0.1", web.port, f"/chat/{label}/", seconds=10) >= 3
