"""Socket caps on a real interface server: per client address, per process, and readiness.

daphne runs with --proxy-headers, as the Procfile and the chart have it, so
each client's address is the one its X-Forwarded-For names: the test plays
several clients from one machine that way.
"""

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request

import websockets
from websockets.exceptions import ConnectionClosed

from tests.support.chat import SUBPROTOCOL, create_room, recv_until

HANG_GUARD = 30.0  # seconds: only bounds a hang


async def join_from(web, label: str, address: str):
    """An opted-in socket from ``address``: open, or closed with what it heard first."""
    socket = await websockets.connect(
        f"{web.ws_url}/chat/{label}/",
        subprotocols=[SUBPROTOCOL],
        additional_headers={"X-Forwarded-For": address},
        open_timeout=HANG_GUARD,
    )
    first = json.loads(await asyncio.wait_for(socket.recv(), HANG_GUARD))
    if first["type"] == "error":
        with contextlib.suppress(ConnectionClosed):  # the close that follows the error
            await asyncio.wait_for(socket.recv(), HANG_GUARD)
        return socket, first["code"]
    await recv_until(socket, "presence", timeout=HANG_GUARD)
    return socket, None


def readiness(web) -> tuple[int, str]:
    """/readyz's status code and body status."""
    try:
        with urllib.request.urlopen(f"{web.url}/readyz", timeout=5) as response:
            return response.status, json.load(response)["status"]
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)["status"]


async def test_caps_per_address_and_per_process_are_answered_and_shown_in_readiness(
    make_topology,
) -> None:
    topology = make_topology(
        webs=1, workers=1, PARLEY_MAX_SOCKETS="4", PARLEY_MAX_SOCKETS_PER_ADDRESS="2"
    )
    web = topology.webs[0]
    label = create_room(web.url)

    a1, a2 = [await join_from(web, label, "10.1.0.1") for _ in range(2)]
    a3 = await join_from(web, label, "10.1.0.1")
    b1, b2 = [await join_from(web, label, "10.1.0.2") for _ in range(2)]
    full = readiness(web)
    c1 = await join_from(web, label, "10.1.0.3")
    await b2[0].close()
    deadline = time.monotonic() + HANG_GUARD
    while readiness(web)[0] != 200 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    freed = readiness(web)
    c2 = await join_from(web, label, "10.1.0.3")

    assert [a1[1], a2[1], b1[1], b2[1]] == [None] * 4
    assert (a3[1], a3[0].close_code) == ("too_many_sockets", 4429)
    assert full == (503, "full")
    assert (c1[1], c1[0].close_code) == ("server_full", 4503)
    assert freed == (200, "ok")
    assert c2[1] is None
    for socket, _ in (a1, a2, b1, c2):
        await socket.close()
