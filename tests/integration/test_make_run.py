"""`make run`: the whole chat from one process, with no Redis and no Postgres."""

import asyncio
import os

import pytest

from tests.support.chat import (
    connect,
    create_room,
    recv_messages,
    recv_until,
    send_chat,
    visit_room,
)
from tests.support.procfile import RoleProcess, free_port


@pytest.fixture
def make_run(tmp_path):
    """`make run` on a free port, its SQLite database in a temporary directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    port = free_port()
    server = RoleProcess("make-run", f"make run PORT={port}", env, port=port).start()
    server.wait_ready("/readyz", timeout=120)
    yield server
    server.stop()


async def test_seed_protocol_round_trips_without_redis_or_postgres(make_run):
    label = create_room(make_run.url)
    assert f'<h1 id="room-label">{label}</h1>' in visit_room(make_run.url, label)
    seed_a = await connect(make_run.ws_url, label)
    seed_b = await connect(make_run.ws_url, label)
    opted_in = await connect(make_run.ws_url, label, opt_in=True, after=0, handle="carol")
    await recv_until(opted_in, "presence")
    await send_chat(seed_a, "alice", "hello from the seed client")
    for member in (seed_a, seed_b):
        [frame] = await recv_messages(member, 1)
        assert set(frame) >= {"handle", "message", "timestamp"}
        assert (frame["handle"], frame["message"]) == ("alice", "hello from the seed client")
    [frame] = await recv_messages(opted_in, 1)
    assert frame["id"] == 1
    await asyncio.gather(*(m.close() for m in (seed_a, seed_b, opted_in)))
    assert "hello from the seed client" in visit_room(make_run.url, label)
