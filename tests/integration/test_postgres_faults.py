"""Postgres stopped under steady traffic, then started again: nothing acknowledged is lost.

The processes run on a Postgres cluster of their own, stopped in immediate
mode (connections cut, as in a crash or a failover) while clients keep
sending, and started again. Workers keep what they took and retry; senders'
outboxes resend with backoff; a socket closed during the outage hands its
unacknowledged messages over. Afterwards every message is stored exactly once,
in each sender's order, and every sender got an ack for each.
"""

import asyncio
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.chat import connect, create_room, recv_until
from tests.support.checks import room_rows
from tests.support.postgres_server import PostgresServer
from tests.support.resending_client import ResendingClient
from tests.support.topology import (
    Topology,
    collectstatic,
    create_database,
    production_env,
    with_redis_db,
)

# The short form; `make faults` holds it for 90 s (PARLEY_FAULT_OUTAGE_SECONDS).
OUTAGE_SECONDS = float(os.environ.get("PARLEY_FAULT_OUTAGE_SECONDS", "10"))
PER_SENDER = 30
REDIS_DB = 9  # a database of the shared Redis no other test uses


@pytest.fixture(scope="module")
def outage_topology(redis_url: str) -> Iterator[tuple[Topology, PostgresServer]]:
    """A private Postgres, then release, one worker and one web on it."""
    # Not pytest's tmp_path: its parents are 0700, and Postgres runs as its own user.
    workdir = Path(tempfile.mkdtemp(prefix="parley-pg-fault-"))
    postgres = PostgresServer(workdir).create()
    env = production_env(
        create_database(postgres.url, f"parley_pg_{uuid.uuid4().hex[:8]}"),
        with_redis_db(redis_url, REDIS_DB),
        PARLEY_RATE_PER_SECOND="1000",
        PARLEY_RATE_BURST="1000",
    )
    topology = Topology(env, prefix="pg-faults.")
    try:
        collectstatic(env)
        topology.release()
        topology.start_worker()
        topology.start_web()
        yield topology, postgres
    finally:
        topology.stop()
        postgres.close()
        shutil.rmtree(workdir, ignore_errors=True)


async def send_and_leave(socket, texts: list[str]) -> None:
    """A plain client sends ``texts`` and closes at once: its messages are handed over."""
    for text in texts:
        await socket.send(json.dumps({"handle": "leaver", "message": text}))
    await asyncio.sleep(0.5)  # the server has read them
    await socket.close()


@pytest.mark.fault
async def test_a_postgres_outage_under_traffic_loses_nothing_acknowledged(
    outage_topology, fault_report
):
    topology, postgres = outage_topology
    web = topology.webs[0]
    label = create_room(web.url)
    watcher = await connect(web.ws_url, label, opt_in=True, handle="watcher")
    await recv_until(watcher, "presence")
    senders = [ResendingClient(f"p{i}", label, web) for i in range(3)]
    left = [f"left {n}" for n in range(5)]

    leaver = await connect(web.ws_url, label)  # joins now: no join succeeds without Postgres
    sending = asyncio.gather(
        *(
            s.run(PER_SENDER, fallback=web, pace=0.5, ack_within=OUTAGE_SECONDS + 90)
            for s in senders
        )
    )
    await asyncio.sleep(2)
    postgres.stop()
    stopped = time.monotonic()
    await send_and_leave(leaver, left)
    await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
    postgres.start()
    back = time.monotonic()
    await sending
    recovered = time.monotonic() - back
    print(f"\nPostgres down {back - stopped:.1f} s; all acked {recovered:.1f} s after it was back")

    stored = [(row.client_id, row.message) for row in room_rows(topology, label)]
    texts = [message for _, message in stored]
    sent = {s.name: [f"{s.name}-{n}" for n in range(PER_SENDER)] for s in senders}
    sent["leaver"] = left  # plain: its ids are the server's; count its texts instead
    fault_report.count(
        f"Postgres stopped {OUTAGE_SECONDS:.0f} s under traffic, a socket closed meanwhile",
        sent=sent,
        stored=[cid if cid and not cid.startswith("~") else text for cid, text in stored],
        acked=sum(len(s.acked) for s in senders),
        recovery_s=recovered,
    )
    assert not [s.pending for s in senders if s.pending], "a message never got its ack"
    for sender in senders:
        mine = [cid for cid, _ in stored if cid and cid.startswith(f"{sender.name}-")]
        assert mine == [f"{sender.name}-{n}" for n in range(PER_SENDER)]  # once each, in order
    assert [t for t in texts if t.startswith("left ")] == left  # the hand-over, once, in order
    assert len(stored) == 3 * PER_SENDER + len(left)
    await watcher.close()
