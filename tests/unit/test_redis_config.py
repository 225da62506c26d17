"""Redis options: what the channel layer, presence and readiness connect with."""

import asyncio
import os
import ssl
import uuid

import pytest
import redis
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool
from django.conf import settings
from redis.asyncio import BlockingConnectionPool
from redis.asyncio.connection import Connection, SSLConnection
from redis.exceptions import MaxConnectionsError

from app.ops.checks import check_redis, persist_queue_depth
from app.ops.layers import BlockingPoolRedisChannelLayer
from app.ops.redis import (
    CHECK_CLIENT_NAME,
    POOL_TIMEOUT_SECONDS,
    SOCKET_TIMEOUT_SECONDS,
    async_client,
    client_kwargs,
    redis_options,
)

CONCURRENT = 40  # operations at once, against a pool of POOL_SIZE
POOL_SIZE = 2


def test_the_socket_timeout_outlasts_channels_redis_blocking_pop() -> None:
    assert RedisChannelLayer.brpop_timeout < SOCKET_TIMEOUT_SECONDS
    options = redis_options("redis://r:6379/0", max_connections=64, tls_verify=False)
    assert options["socket_timeout"] > RedisChannelLayer.brpop_timeout


def test_the_pool_size_is_the_one_given() -> None:
    options = redis_options("redis://r:6379/0", max_connections=64, tls_verify=False)

    assert options["max_connections"] == 64
    assert create_pool(options).max_connections == 64


def test_plain_redis_gets_no_tls_options() -> None:
    options = redis_options("redis://r:6379/0", max_connections=64, tls_verify=False)

    assert not any(key.startswith("ssl") for key in options)
    assert create_pool(options).make_connection().__class__ is Connection


def test_rediss_encrypts_without_verifying_by_default() -> None:
    options = redis_options(
        "rediss://:pw@r.example.com:6380/0", max_connections=64, tls_verify=False
    )

    connection = create_pool(options).make_connection()

    assert isinstance(connection, SSLConnection)
    context = connection.ssl_context.get()
    assert context.verify_mode == ssl.CERT_NONE
    assert context.check_hostname is False


def test_rediss_verifies_when_told_to() -> None:
    options = redis_options(
        "rediss://:pw@r.example.com:6380/0", max_connections=64, tls_verify=True
    )

    connection = create_pool(options).make_connection()

    assert isinstance(connection, SSLConnection)
    context = connection.ssl_context.get()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_client_kwargs_splits_the_address_off_without_touching_the_options() -> None:
    options = redis_options("redis://r:6379/3", max_connections=64, tls_verify=False)

    url, kwargs = client_kwargs(options)

    assert url == "redis://r:6379/3"
    assert "address" not in kwargs
    assert kwargs["max_connections"] == 64
    assert options["address"] == url


async def test_the_configured_layer_carries_messages_on_real_redis() -> None:
    urls = os.environ["REDIS_URL"].replace(",", " ").split()
    assert [host["address"] for host in settings.REDIS_HOSTS] == urls
    layer = RedisChannelLayer(hosts=settings.REDIS_HOSTS, prefix=f"unit-{uuid.uuid4().hex[:8]}")
    try:
        channel = await layer.new_channel()
        await layer.group_add("room.unit", channel)
        await layer.group_send("room.unit", {"type": "room.message", "seq": 1})
        assert await asyncio.wait_for(layer.receive(channel), 10) == {
            "type": "room.message",
            "seq": 1,
        }
        await layer.send("chat.persist", {"type": "message.persist", "n": 2})
        assert await asyncio.wait_for(layer.receive("chat.persist"), 10) == {
            "type": "message.persist",
            "n": 2,
        }
    finally:
        await layer.flush()
        await layer.close_pools()


@pytest.mark.parametrize("url", ["redis://r:6379/0", "rediss://r:6380/0"])
def test_options_are_accepted_by_redis_py_for_every_scheme(url: str) -> None:
    options = redis_options(url, max_connections=16, tls_verify=False)
    connection = create_pool(options).make_connection()

    assert connection.socket_timeout == SOCKET_TIMEOUT_SECONDS
    assert connection.socket_keepalive is True


# ------------------------------------------------------------------ waiting at the pool's limit
def first_redis_url() -> str:
    """The first URL of REDIS_URL (the real Redis of this run)."""
    return os.environ["REDIS_URL"].replace(",", " ").split()[0]


def small_pool_options() -> dict:
    """Options for the real Redis with a pool far smaller than the load below."""
    return redis_options(first_redis_url(), max_connections=POOL_SIZE, tls_verify=False)


def test_the_configured_layer_and_its_pools_wait() -> None:
    layer = get_channel_layer()
    pool = layer.create_pool(0)

    assert isinstance(layer, BlockingPoolRedisChannelLayer)
    assert isinstance(pool, BlockingConnectionPool)
    assert pool.max_connections == settings.REDIS_MAX_CONNECTIONS
    assert pool.timeout == POOL_TIMEOUT_SECONDS
    assert RedisChannelLayer.brpop_timeout < POOL_TIMEOUT_SECONDS, "outwaits a blocking pop"


async def test_a_stock_pool_fails_past_its_limit() -> None:
    """The failure the blocking pool exists for (redis-py raises instead of waiting)."""
    layer = RedisChannelLayer(hosts=[small_pool_options()], prefix=f"unit-{uuid.uuid4().hex[:8]}")
    try:
        results = await asyncio.gather(
            *(layer.send(f"stock.{i}", {"type": "t", "n": i}) for i in range(CONCURRENT)),
            return_exceptions=True,
        )
    finally:
        await layer.flush()
        await layer.close_pools()

    assert any(isinstance(result, MaxConnectionsError) for result in results)


async def test_the_layer_waits_for_a_connection_and_every_operation_succeeds() -> None:
    prefix = f"unit-{uuid.uuid4().hex[:8]}"
    layer = BlockingPoolRedisChannelLayer(hosts=[small_pool_options()], prefix=prefix)
    channels = [f"wait.{i}" for i in range(CONCURRENT)]
    try:
        await asyncio.gather(*(layer.send(c, {"type": "t", "to": c}) for c in channels))
        received = await asyncio.gather(*(layer.receive(c) for c in channels[1:]))
        received.insert(0, await layer.receive(channels[0]))
        pool = layer.connection(0).connection_pool
        opened = len(pool._available_connections) + len(pool._in_use_connections)
    finally:
        await layer.flush()
        await layer.close_pools()

    assert [message["to"] for message in received] == channels
    assert isinstance(pool, BlockingConnectionPool)
    assert opened <= POOL_SIZE, f"{opened} connections for a pool of {POOL_SIZE}"


async def test_the_presence_client_waits_too() -> None:
    client = async_client(small_pool_options(), decode_responses=True)
    key = f"unit-presence-{uuid.uuid4().hex[:8]}"
    try:
        await asyncio.gather(*(client.hset(key, str(i), "m") for i in range(CONCURRENT)))
        stored = await client.hlen(key)
        await client.delete(key)
    finally:
        await client.aclose()

    assert isinstance(client.connection_pool, BlockingConnectionPool)
    assert client.connection_pool.max_connections == POOL_SIZE
    assert stored == CONCURRENT


def check_connection_ids() -> set[int]:
    """Ids of this run's readiness/metrics connections that Redis sees now.

    They name themselves; those on other databases belong to the Procfile
    processes of the integration tests (each topology has a database of its own).
    """
    admin = redis.Redis.from_url(first_redis_url())
    database = str(admin.connection_pool.connection_kwargs.get("db", 0))
    try:
        return {
            c["id"]
            for c in admin.client_list()
            if c.get("name") == CHECK_CLIENT_NAME and c.get("db") == database
        }
    finally:
        admin.close()


def test_readiness_and_the_queue_depth_reuse_one_connection() -> None:
    seen: set[int] = set()
    for _ in range(10):
        assert check_redis() == "ok"
        assert persist_queue_depth() >= 0
        seen |= check_connection_ids()

    assert len(seen) == 1, f"connections opened to the first Redis: {sorted(seen)}"
