"""Redis options: what the channel layer, presence and readiness connect with."""

import asyncio
import os
import ssl
import uuid

import pytest
from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool
from django.conf import settings
from redis.asyncio.connection import Connection, SSLConnection

from app.ops.redis import SOCKET_TIMEOUT_SECONDS, client_kwargs, redis_options


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
