"""An interface server sent SIGTERM (a rolling deploy) hands over what its sockets sent, then exits.

The worker is paused (SIGSTOP) so that nothing the clients send is stored or
acknowledged before the server stops: every message is then only in the
server's outboxes or in Redis. After SIGTERM and SIGCONT, each must be stored
exactly once, in the order sent, and each client must have been told to
reconnect with the documented code.
"""

import asyncio
import json
import os
import signal
import time
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.chat import connect, create_room, recv_json, recv_until, send_chat
from tests.support.checks import room_rows

CLOSE_TRY_AGAIN_LATER = 4503  # docs/protocol.md: reconnect (here: the server is stopping)
HANG_GUARD = 60.0  # seconds: only bounds a hang
COUNT = 5


def readiness_while_stopping(web) -> tuple[int, str] | None:
    """The first /readyz answer after SIGTERM: (status, body status), None if none came."""
    deadline = time.monotonic() + HANG_GUARD
    while web.process.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{web.url}/readyz", timeout=2) as response:
                answer = (response.status, json.load(response)["status"])
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)["status"]
        except OSError:
            return None  # the server no longer listens
        if answer[0] != 200:
            return answer
        time.sleep(0.02)
    return None


async def error_codes_until_closed(socket) -> list[str]:
    """The error codes a socket heard before it was closed."""
    codes = []
    try:
        while True:
            frame = await recv_json(socket, timeout=HANG_GUARD)
            if frame.get("type") == "error":
                codes.append(frame["code"])
    except ConnectionClosed:
        return codes


@pytest.mark.fault
async def test_sigterm_hands_over_every_unacknowledged_message_and_says_reconnect(
    make_topology, fault_report
) -> None:
    topology = make_topology(webs=1, workers=1, PARLEY_SHUTDOWN_CLOSE_SECONDS="1")
    web, worker = topology.webs[0], topology.workers[0]
    label = create_room(web.url)
    opted = await connect(web.ws_url, label, opt_in=True, handle="ada")
    await recv_until(opted, "presence")
    plain = await connect(web.ws_url, label)

    os.killpg(worker.process.pid, signal.SIGSTOP)
    try:
        for n in range(COUNT):
            await send_chat(opted, "ada", f"opted {n}", client_id=f"o-{n}")
            await send_chat(plain, "bob", f"plain {n}")
        await asyncio.sleep(0.5)  # let the server read them all
        started = time.monotonic()
        os.killpg(web.process.pid, signal.SIGTERM)
        readiness = readiness_while_stopping(web)
        code = web.stop(signal.SIGTERM, timeout=HANG_GUARD)
        stopped_in = time.monotonic() - started
        heard = await error_codes_until_closed(opted)
        await error_codes_until_closed(plain)
    finally:
        os.killpg(worker.process.pid, signal.SIGCONT)

    deadline = time.monotonic() + HANG_GUARD
    while len(room_rows(topology, label)) < 2 * COUNT and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    stored = [row.message for row in room_rows(topology, label)]
    print(f"\nThe server exited with {code} {stopped_in:.1f} s after SIGTERM; stored {stored}")

    sent = {who: [f"{who} {n}" for n in range(COUNT)] for who in ("opted", "plain")}
    fault_report.count(
        "SIGTERM to an interface server, worker paused",
        sent=sent,
        stored=stored,
        acked=0,
        recovery_s=stopped_in,
    )
    assert code == 0, web.log_tail()
    assert readiness == (503, "stopping")
    assert (opted.close_code, plain.close_code) == (CLOSE_TRY_AGAIN_LATER, CLOSE_TRY_AGAIN_LATER)
    assert heard == ["going_away"]
    assert sorted(stored) == sorted(
        [f"opted {n}" for n in range(COUNT)] + [f"plain {n}" for n in range(COUNT)]
    )
    for who in ("opted", "plain"):  # each sender's order kept
        assert [m for m in stored if m.startswith(who)] == [f"{who} {n}" for n in range(COUNT)]
    assert "every socket handed over" in web.log_path.read_text()
