"""Chat clients over real sockets: pages over HTTP, members over WebSockets."""

import asyncio
import json
import urllib.request
from typing import Any
from urllib.parse import urlencode, urlsplit

import websockets

SUBPROTOCOL = "parley.v1"


def create_room(base_url: str) -> str:
    """GET /new/ and return the label it redirected to."""
    with urllib.request.urlopen(f"{base_url}/new/", timeout=10) as response:
        return urlsplit(response.url).path.strip("/")


def visit_room(base_url: str, label: str) -> str:
    """GET /<label>/ (creating the room on first visit) and return the page."""
    with urllib.request.urlopen(f"{base_url}/{label}/", timeout=10) as response:
        return response.read().decode()


async def connect(ws_base: str, label: str, *, opt_in: bool = False, **query: Any):
    """Open a member's socket; opted-in clients use the parley.v1 subprotocol."""
    url = f"{ws_base}/chat/{label}/"
    if query:
        url += "?" + urlencode(query)
    return await websockets.connect(
        url,
        subprotocols=[SUBPROTOCOL] if opt_in else None,
        open_timeout=15,
        max_size=2**22,
        ping_interval=None,
    )


async def recv_json(socket, timeout: float = 5.0) -> dict[str, Any]:
    """The next frame, decoded."""
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


async def recv_until(socket, frame_type: str, timeout: float = 5.0) -> dict[str, Any]:
    """Skip frames until one of ``frame_type`` arrives."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await recv_json(socket, max(0.01, deadline - loop.time()))
        if frame.get("type") == frame_type:
            return frame


async def recv_messages(socket, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Collect ``count`` chat-message frames, skipping others (acks, presence)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    messages: list[dict[str, Any]] = []
    while len(messages) < count:
        frame = await recv_json(socket, max(0.01, deadline - loop.time()))
        if frame.get("type", "message") == "message":
            messages.append(frame)
    return messages


async def assert_silent(socket, seconds: float = 0.5) -> None:
    """Fail if any frame arrives within ``seconds``."""
    try:
        frame = await asyncio.wait_for(socket.recv(), seconds)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected frame: {frame}")


async def send_chat(socket, handle: str, message: str, **extra: Any) -> None:
    """Send a chat frame (the seed's shape, plus any opt-in keys)."""
    await socket.send(json.dumps({"handle": handle, "message": message, **extra}))


async def frames_until(socket, types: set[str], timeout: float = 10.0) -> dict[str, dict[str, Any]]:
    """Read until a frame of each of ``types`` came, in any order; the first of each, by type."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen: dict[str, dict[str, Any]] = {}
    while not types <= seen.keys():
        frame = await recv_json(socket, max(0.01, deadline - loop.time()))
        seen.setdefault(frame.get("type", "message"), frame)
    return seen
