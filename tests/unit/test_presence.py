"""Room presence: in one process (memory) and across servers (real Redis from REDIS_URL)."""

import json
import os
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis import asyncio as aioredis

from app.chat.presence import MemoryPresence, RedisPresence
from app.config.wiring import presence_store

TTL = 30


def member(connection_id: str, *, since: float = 0.0, handle: str | None = "ada") -> dict:
    return {"id": connection_id, "handle": handle, "since": since}


@pytest.fixture
def label() -> str:
    """A room label no other test (or run) shares."""
    return f"unit-{uuid.uuid4().hex}"


@pytest.fixture
async def client(label: str) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    yield redis
    await redis.delete(RedisPresence.key(label))
    await redis.aclose()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, label: str):
    """Each store, the Redis one on the real server."""
    if request.param == "memory":
        return MemoryPresence()
    return RedisPresence(request.getfixturevalue("client"), ttl=TTL)


# ------------------------------------------------------------------ both stores
async def test_a_new_room_has_no_members(store, label: str) -> None:
    assert await store.members(label) == []


async def test_added_members_are_listed(store, label: str) -> None:
    await store.add(label, [member("c1", since=1.0), member("c2", since=2.0, handle=None)])

    assert await store.members(label) == [
        member("c1", since=1.0),
        member("c2", since=2.0, handle=None),
    ]


async def test_adding_a_member_again_refreshes_it_without_a_copy(store, label: str) -> None:
    await store.add(label, [member("c1", handle="old")])
    await store.add(label, [member("c1", handle="new")])

    assert await store.members(label) == [member("c1", handle="new")]


async def test_a_removed_member_is_gone_and_the_others_stay(store, label: str) -> None:
    await store.add(label, [member("c1", since=1.0), member("c2", since=2.0)])

    await store.remove(label, "c1")

    assert await store.members(label) == [member("c2", since=2.0)]


async def test_removing_an_unknown_member_is_harmless(store, label: str) -> None:
    await store.remove(label, "ghost")
    await store.add(label, [member("c1")])
    await store.remove(label, "ghost")

    assert await store.members(label) == [member("c1")]


async def test_removing_the_last_member_empties_the_room(store, label: str) -> None:
    await store.add(label, [member("c1")])

    await store.remove(label, "c1")

    assert await store.members(label) == []


async def test_rooms_are_separate(store, label: str) -> None:
    await store.add(label, [member("c1")])

    assert await store.members(f"{label}-other") == []


async def test_adding_no_members_adds_nothing(store, label: str) -> None:
    await store.add(label, [])

    assert await store.members(label) == []


# ------------------------------------------------------------------ Redis only
async def test_redis_members_are_seen_by_every_server(client: aioredis.Redis, label: str) -> None:
    server_a = RedisPresence(client, ttl=TTL)
    other = aioredis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    server_b = RedisPresence(other, ttl=TTL)
    try:
        await server_a.add(label, [member("on-a", since=1.0)])
        await server_b.add(label, [member("on-b", since=2.0)])

        assert await server_a.members(label) == await server_b.members(label)
        assert [m["id"] for m in await server_b.members(label)] == ["on-a", "on-b"]
    finally:
        await other.aclose()


async def test_redis_members_are_ordered_by_arrival(client: aioredis.Redis, label: str) -> None:
    store = RedisPresence(client, ttl=TTL)

    await store.add(label, [member("late", since=30.0), member("early", since=10.0)])
    await store.add(label, [member("middle", since=20.0)])

    assert [m["id"] for m in await store.members(label)] == ["early", "middle", "late"]


async def test_redis_entries_are_stamped_and_the_room_key_expires(
    client: aioredis.Redis, label: str
) -> None:
    store = RedisPresence(client, ttl=TTL)
    before = time.time()

    await store.add(label, [member("c1")])

    raw = json.loads(await client.hget(RedisPresence.key(label), "c1"))
    assert before <= raw["seen"] <= time.time()
    assert 0 < await client.ttl(RedisPresence.key(label)) <= 2 * TTL


async def test_redis_entries_older_than_the_ttl_are_dropped(
    client: aioredis.Redis, label: str
) -> None:
    store = RedisPresence(client, ttl=TTL)
    await store.add(label, [member("live", since=1.0)])
    stale = {**member("dead-server", since=0.5), "seen": time.time() - TTL - 60}
    await client.hset(RedisPresence.key(label), "dead-server", json.dumps(stale))

    assert await store.members(label) == [member("live", since=1.0)]
    assert await client.hkeys(RedisPresence.key(label)) == ["live"]


async def test_a_refresh_keeps_a_member_alive(client: aioredis.Redis, label: str) -> None:
    store = RedisPresence(client, ttl=TTL)
    old = {**member("c1"), "seen": time.time() - TTL - 60}
    await client.hset(RedisPresence.key(label), "c1", json.dumps(old))

    await store.add(label, [member("c1")])  # the resync loop refreshing its sockets

    assert await store.members(label) == [member("c1")]


async def test_presence_store_uses_redis_when_the_layer_does(label: str) -> None:
    store = presence_store()
    try:
        assert isinstance(store, RedisPresence)
        await store.add(label, [member("c1")])
        assert await store.members(label) == [member("c1")]
    finally:
        await store._client.delete(RedisPresence.key(label))
        await store._client.aclose()


def test_presence_store_is_in_memory_without_redis(settings) -> None:
    settings.REDIS_HOSTS = []

    assert isinstance(presence_store(), MemoryPresence)
