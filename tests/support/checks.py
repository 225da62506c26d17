"""What a test checks after the fact: stored rows, how a socket ended, servers still up.

Added beside chat.py for the bad-input and opt-in protocol tests; nothing here
changes the topology.
"""

import asyncio
import json
from typing import Any, NamedTuple

import psycopg
import websockets

from tests.support.topology import Topology


class Row(NamedTuple):
    """One stored message, as Postgres holds it."""

    seq: int
    handle: str
    message: str
    client_id: str | None


def room_rows(topology: Topology, label: str) -> list[Row]:
    """The room's stored messages in sequence order, read straight from Postgres."""
    query = (
        "SELECT m.seq, m.handle, m.message, m.client_id FROM chat_message m "
        "JOIN chat_room r ON r.id = m.room_id WHERE r.label = %s ORDER BY m.seq"
    )
    with psycopg.connect(topology.env["DATABASE_URL"]) as conn:
        return [Row(*row) for row in conn.execute(query, (label,)).fetchall()]


def room_exists(topology: Topology, label: str) -> bool:
    """Whether a room row with ``label`` exists."""
    with psycopg.connect(topology.env["DATABASE_URL"]) as conn:
        found = conn.execute("SELECT 1 FROM chat_room WHERE label = %s", (label,)).fetchone()
    return found is not None


async def recv_until_closed(
    socket, timeout: float = 10.0, *, abrupt: bool = False
) -> tuple[list[dict[str, Any]], int | None]:
    """Read frames until the server closes; return them and the close code it sent.

    A connection dropped without a close frame fails, unless ``abrupt`` allows it
    (the code is then None).
    """
    frames: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            text = await asyncio.wait_for(socket.recv(), max(0.01, deadline - loop.time()))
        except websockets.ConnectionClosed as closed:
            if closed.rcvd is None:
                if abrupt:
                    return frames, None
                raise AssertionError(f"closed without a close frame: {closed}") from closed
            return frames, closed.rcvd.code
        frames.append(json.loads(text))


def assert_serving(topology: Topology) -> None:
    """Every web and worker process of ``topology`` is still running."""
    for process in [*topology.webs, *topology.workers]:
        process.assert_running()
