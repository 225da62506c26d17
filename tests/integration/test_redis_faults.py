"""Redis faults injected for real under the Procfile's processes: restarts and joins in an outage.

The processes run on a Redis of their own, killed (no goodbye to its clients)
and started again on the same port with nothing in it, as a failover can. The
figures are printed; nothing about time is asserted: waits are bounded only.
"""

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.chat import (
    connect,
    create_room,
    frames_until,
    recv_json,
    recv_messages,
    recv_until,
    send_chat,
)
from tests.support.fault_report import FaultRow
from tests.support.metrics import metric_total
from tests.support.procfile import RoleProcess
from tests.support.redis_server import RedisServer
from tests.support.topology import (
    Topology,
    collectstatic,
    create_database,
    drop_database,
    production_env,
)

RECOVERY_BOUND = 90.0  # seconds: only bounds a hang
CLOSE_TRY_AGAIN_LATER = 4503  # docs/protocol.md: the join failed; reconnect in a moment


@dataclass
class FaultTopology:
    """Two ``web`` servers and a ``worker`` on a Redis the tests may kill."""

    redis: RedisServer
    topology: Topology

    @property
    def webs(self) -> list[RoleProcess]:
        """The interface servers."""
        return self.topology.webs


@pytest.fixture(scope="module")
def faults(database_server_url: str, tmp_path_factory) -> Iterator[FaultTopology]:
    """A private Redis, then release, one worker and two webs on it (fast resync and presence)."""
    redis_server = RedisServer(tmp_path_factory.mktemp("fault-redis")).start()
    name = f"parley_faults_{uuid.uuid4().hex[:8]}"
    env = production_env(
        create_database(database_server_url, name),
        redis_server.url,
        PARLEY_RESYNC_SECONDS="2",
        PARLEY_PRESENCE_TTL_SECONDS="10",
        PARLEY_RATE_PER_SECOND="1000",
        PARLEY_RATE_BURST="1000",
    )
    topology = Topology(env, prefix=f"{name}.")
    try:
        collectstatic(env)
        topology.release()
        topology.start_worker()
        topology.start_web()
        topology.start_web()
        yield FaultTopology(redis_server, topology)
    finally:
        topology.stop()
        redis_server.stop()
        drop_database(database_server_url, name)


async def join(web: RoleProcess, label: str, handle: str | None) -> Any:
    """A member's socket; opted in (with its handle) when it has one, else plain."""
    if handle is None:
        return await connect(web.ws_url, label)
    socket = await connect(web.ws_url, label, opt_in=True, handle=handle)
    await recv_until(socket, "presence", timeout=30)
    return socket


async def presence_handles(web: RoleProcess, label: str) -> list[str | None]:
    """Who a newcomer sees in the room (itself left out), every server counted."""
    probe_handle = f"probe-{uuid.uuid4().hex[:6]}"
    socket = await connect(web.ws_url, label, opt_in=True, handle=probe_handle)
    try:
        members = (await recv_until(socket, "presence", timeout=30))["members"]
    finally:
        await socket.close()
    return sorted((m["handle"] for m in members if m["handle"] != probe_handle), key=str)


async def eventually(check, what: str) -> Any:
    """Await ``check()`` until it returns something truthy (RECOVERY_BOUND at most)."""
    deadline = time.monotonic() + RECOVERY_BOUND
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"no {what} within {RECOVERY_BOUND} s"
        await asyncio.sleep(0.25)


def group_members(redis_server: RedisServer, label: str) -> list[str]:
    """The channels in the room's layer group, read from Redis itself."""
    return redis_server.client().zrange(f"parley:group:room.{label}", 0, -1)


@pytest.mark.fault
@pytest.mark.parametrize("down_for", [0.5, 10.0], ids=["restart", "10s-outage"])
async def test_a_redis_restart_closes_no_socket_and_the_room_goes_on(
    faults, down_for, fault_report
) -> None:
    web1, web2 = faults.webs
    label = create_room(web1.url)
    handles = {"ada": web1, "bob": web2}
    opted = {h: await join(web, label, h) for h, web in handles.items()}
    plain = [await join(web1, label, None), await join(web2, label, None)]
    members = [*opted.values(), *plain]

    outage = faults.redis.restart(down_for)
    back = time.monotonic()
    await send_chat(opted["ada"], "ada", "after the restart", client_id="after-1")
    sender_frames = await frames_until(opted["ada"], {"message", "ack"}, RECOVERY_BOUND)
    received = [await recv_messages(s, 1, timeout=RECOVERY_BOUND) for s in members[1:]]
    recovered = time.monotonic() - back
    received.insert(0, [sender_frames["message"]])
    ack = sender_frames["ack"]
    print(
        f"\nRedis down {outage:.1f} s; the next message reached all {len(members)} in "
        f"{recovered:.1f} s after it was back"
    )

    delivered = sum(len(got) for got in received)
    acked = int(ack["client_id"] == "after-1")
    fault_report.add(
        FaultRow(
            f"Redis killed, down {outage:.1f} s, started empty; 4 members on 2 servers",
            sent=1,
            acked=acked,
            stored=acked,  # an ack means stored
            lost=4 - delivered,  # deliveries missing, one message to 4 members
            duplicated=0,
            out_of_order=0,
            recovery_s=recovered,
        )
    )
    assert [[m["message"] for m in got] for got in received] == [["after the restart"]] * 4
    assert ack["client_id"] == "after-1"
    assert all(socket.close_code is None for socket in members), "a socket was closed"
    expected = sorted([*handles, None, None], key=str)
    assert await eventually(lambda: _presence_is(web2, label, expected), "exact presence")
    assert len(group_members(faults.redis, label)) == 2  # one hub per server, no more
    for socket in members:
        await socket.close()


async def _presence_is(web: RoleProcess, label: str, expected: list) -> bool:
    return await presence_handles(web, label) == expected


async def test_joins_during_a_redis_outage_leave_no_ghost(faults) -> None:
    web1 = faults.webs[0]
    label = create_room(web1.url)
    ada = await join(web1, label, "ada")  # the room is open on web1 before the outage
    members_before = metric_total(f"{web1.url}/metrics", "parley_room_members")

    faults.redis.stop()
    try:
        refusals = [await _refused_join(web1, label, handle) for handle in ("x", "y", None, None)]
    finally:
        faults.redis.start()
    print(f"\nJoins during the outage: {refusals}")

    assert all(code == CLOSE_TRY_AGAIN_LATER for code, _ in refusals)
    assert [frame for _, frame in refusals[:2]] == ["unavailable", "unavailable"]
    members_after = await eventually(
        lambda: _settled_members(web1, members_before), "room members back to before"
    )
    assert members_after == members_before
    assert await eventually(lambda: _presence_is(web1, label, ["ada"]), "presence of ada alone")
    await send_chat(ada, "ada", "still here", client_id="still-1")
    assert [m["message"] for m in await recv_messages(ada, 1, timeout=RECOVERY_BOUND)] == [
        "still here"
    ]
    await ada.close()


async def _refused_join(web: RoleProcess, label: str, handle: str | None) -> tuple[int, Any]:
    """Try to join while Redis is down: the close code, and the error code heard first."""
    socket = await connect(web.ws_url, label, opt_in=handle is not None, handle=handle or "")
    error = None
    try:
        while True:
            frame = await recv_json(socket, timeout=RECOVERY_BOUND)
            error = frame.get("code", error)
    except ConnectionClosed:
        pass
    return socket.close_code, error


async def _settled_members(web: RoleProcess, expected: float) -> float | None:
    members = metric_total(f"{web.url}/metrics", "parley_room_members")
    connections = metric_total(f"{web.url}/metrics", "parley_websocket_connections")
    return members if members == connections == expected else None
