"""A rolling restart under steady traffic: each server and worker replaced in turn, nothing lost.

Two interface servers and two workers from the Procfile carry 200 opted-in
clients (rooms of ten, every member sending at a steady pace), each behaving
like Parley's page (the shared client model): messages kept until settled,
reconnects with backoff and jitter to another ready server, resends, and
catch-up with ``?after=``. Then each interface server and each worker is
replaced one at a time as Kubernetes does it: the replacement started and
ready first, then SIGTERM to the old process.

Afterwards every message is acknowledged and stored exactly once, in its
sender's order; every member received its room's history exactly, in order,
with no gap and no repeat; all 200 clients are back in their rooms; and no
room group in Redis holds a channel of a server that is gone (read straight
from Redis, right after each server exits and at the end).

The short form runs in ``make test``; ``make faults`` (which sets
PARLEY_FAULT_OUTAGE_SECONDS) runs the long one: 10 s of traffic between the
steps instead of 1 s (about three times the messages), and stopping servers
spread their closes over the chart's 10 s instead of 3 s.
"""

import asyncio
import os
import time

import pytest
import redis

from tests.support.chat import create_room
from tests.support.checks import room_rows
from tests.support.resending_client import ResendingClient
from tests.support.rollout import (
    HANG_GUARD,
    ReadyServers,
    all_back,
    hub_channel,
    log_lines,
    room_groups,
    start_ready_worker,
    terminate,
    zombie_memberships,
)

LONG_FORM = "PARLEY_FAULT_OUTAGE_SECONDS" in os.environ  # set by `make faults`
CLIENTS = 200
ROOM_SIZE = 10
# Seconds between one client's messages: 50 messages/s in all, 500 deliveries/s. At twice
# that, one long run on this shared 2-core machine (other jobs beside it) ended with 3,492
# messages still unacknowledged 90 s after the traffic stopped: the acks could not keep up.
PACE = 4.0
STEADY = 10.0 if LONG_FORM else 1.0  # seconds of traffic before, between and after the steps
# How long a stopping server spreads its closes over: the chart's default, or a short one.
CLOSE_SECONDS = "10" if LONG_FORM else "3"


async def replace_web(topology, old, servers, hubs, layer, clients) -> dict:
    """Start a ready replacement, SIGTERM ``old``; zombies right after it exited, time back."""
    new = await asyncio.to_thread(topology.start_web)
    hubs[new.ws_url] = await hub_channel(new, layer)
    servers.add(new)
    servers.remove(old)
    signalled = time.monotonic()
    code = await asyncio.to_thread(terminate, old)
    zombies = zombie_memberships(layer, {hubs[base] for base in servers.bases})
    back = await all_back(clients, servers) - signalled
    print(f"  {old.name} -> {new.name}: exit {code}, all clients back {back:.1f} s after SIGTERM")
    return {"process": old.name, "code": code, "zombies": zombies, "back_s": back}


async def replace_worker(topology, old) -> dict:
    """Start a ready replacement worker, then SIGTERM ``old`` and wait for it to exit."""
    new = await asyncio.to_thread(start_ready_worker, topology)
    code = await asyncio.to_thread(terminate, old)
    print(f"  {old.name} -> {new.name}: exit {code}")
    return {"process": old.name, "code": code, "zombies": {}, "back_s": 0.0}


async def roll(topology, servers, hubs, layer, clients) -> list[dict]:
    """Replace both interface servers, then both workers, one at a time."""
    steps = []
    for old in list(topology.webs):
        await asyncio.sleep(STEADY)
        steps.append(await replace_web(topology, old, servers, hubs, layer, clients))
    for old in list(topology.workers):
        await asyncio.sleep(STEADY)
        steps.append(await replace_worker(topology, old))
    await asyncio.sleep(STEADY)
    return steps


async def caught_up(clients: list[ResendingClient], last_ids: dict[str, int]) -> None:
    """Wait (bounded) until every member has seen its room's last stored message."""
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        if all((c.model.last_id or 0) >= last_ids[c.label] for c in clients):
            return
        await asyncio.sleep(0.1)


async def open_clients(servers: ReadyServers, labels: list[str]) -> tuple[list, list, float]:
    """Connect the clients, each room's members alternating between the servers; wait for all."""
    clients = [
        ResendingClient(f"c{i:03d}", labels[i % len(labels)], after=0) for i in range(CLIENTS)
    ]
    opening = time.monotonic()
    connections = [
        asyncio.ensure_future(c.stay_connected(servers.chooser(i // len(labels))))
        for i, c in enumerate(clients)
    ]
    return clients, connections, await all_back(clients, servers) - opening


def off_history(clients: list[ResendingClient], rows: dict[str, list]) -> dict[str, tuple]:
    """Members whose messages differ from their room's history: (repeats, gaps) of each."""
    return {
        c.name: (c.model.counts["repeats"], c.model.counts["gaps"])
        for c in clients
        if c.messages != [(r.seq, r.client_id) for r in rows[c.label]]
    }


def figures(row, clients, steps, off, connected_in: float, at_end: int, logs) -> str:
    """The run's figures, for people."""

    def count(key: str) -> int:
        return sum(c.model.counts[key] for c in clients)

    backs = ", ".join(f"{s['back_s']:.1f} s" for s in steps if s["back_s"])
    return (
        f"{row.sent} sent, {row.acked} acked, {row.stored} stored, {row.lost} lost, "
        f"{row.duplicated} duplicated; {count('reconnects')} reconnects; "
        f"{sum(len(c.messages) for c in clients)} deliveries, {count('repeats')} repeated, "
        f"{count('gaps')} gaps, {len(off)} members off their room's history\n"
        f"{CLIENTS} clients connected in {connected_in:.1f} s; all back {backs} after each "
        f"server's SIGTERM; {at_end} connected at the end\n"
        f"{count('ack')} ack frames, {count('duplicate_acks')} of them duplicates; servers "
        f"resent {log_lines(logs, 'sending again')} unacked messages to the workers; "
        f"workers dropped {log_lines(logs, 'its channel is full')} events on full channels"
    )


@pytest.mark.fault
async def test_a_rolling_restart_under_traffic_loses_nothing_and_leaves_no_zombie(
    make_topology, fault_report
) -> None:
    topology = make_topology(webs=2, workers=2, PARLEY_SHUTDOWN_CLOSE_SECONDS=CLOSE_SECONDS)
    layer = redis.Redis.from_url(topology.env["REDIS_URL"], decode_responses=True)
    servers = ReadyServers(topology.webs)
    hubs = {web.ws_url: await hub_channel(web, layer) for web in topology.webs}
    first_hubs = set(hubs.values())
    labels = [create_room(topology.webs[0].url) for _ in range(CLIENTS // ROOM_SIZE)]
    clients, connections, connected_in = await open_clients(servers, labels)
    groups = {label: room_groups(layer).get(f"parley:group:room.{label}") for label in labels}
    stop = asyncio.Event()
    chatting = asyncio.gather(*(c.chatter(PACE, stop) for c in clients))

    steps = await roll(topology, servers, hubs, layer, clients)
    stop.set()
    await chatting
    settled = await asyncio.gather(*(c.settle(HANG_GUARD) for c in clients))
    rows = {label: room_rows(topology, label) for label in labels}
    await caught_up(clients, {label: len(rows[label]) for label in labels})
    at_end = sum(c.admitted and c.server in servers.bases for c in clients)
    zombies_at_end = zombie_memberships(layer, {hubs[base] for base in servers.bases})
    await asyncio.gather(*(client.close() for client in clients))
    await asyncio.gather(*connections)

    # Counted once every socket is closed and every hand-over is in.
    stored = [r.client_id for label in labels for r in room_rows(topology, label)]
    acked = set().union(*(c.acked for c in clients))
    row = fault_report.count(
        f"rolling restart of 2 web + 2 workers (SIGTERM), {CLIENTS} clients",
        sent={c.name: [f"{c.name}-{n}" for n in range(c.model.counts["sent"])] for c in clients},
        stored=stored,
        acked=len(acked),
        recovery_s=max(step["back_s"] for step in steps),
    )
    off = off_history(clients, rows)
    logs = [*topology.webs, *topology.workers]
    print("\n" + figures(row, clients, steps, off, connected_in, at_end, logs))
    print(f"acknowledged but not stored: {len(acked - set(stored))}")

    assert groups == {label: first_hubs for label in labels}  # Redis read right: both hubs
    assert all(c.reconnects >= 1 for c in clients)  # every socket's server was replaced
    assert [s["code"] for s in steps] == [0, 0, 0, 0], steps
    assert acked <= set(stored)  # no acknowledged message lost
    assert all(settled), [c.pending for c in clients if c.pending][:5]
    assert not [c.model.refused for c in clients if c.model.refused]
    assert (row.lost, row.duplicated, row.out_of_order) == (0, 0, 0)
    assert row.acked == row.sent == row.stored
    assert not off, dict(list(off.items())[:10])  # each member got its room's history exactly
    assert at_end == CLIENTS
    assert [s["zombies"] for s in steps] == [{}] * 4  # right after each server exited
    assert zombies_at_end == {}
    # Every socket's channel and the hub's share one queue per server in channels-redis:
    # sized for a whole server, no ack or room message is dropped as "full".
    assert log_lines(logs, "its channel is full") == 0
