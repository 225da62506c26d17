"""Readiness checks: can this process reach Postgres and Redis right now?"""

import logging

import redis
from django.conf import settings
from django.db import connections

from app.ops.redis import client_kwargs

logger = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 2


def check_database() -> str:
    """Run ``SELECT 1`` on the default database; return "ok" or the failure."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        logger.warning("Readiness: database unreachable: %s", error)
        connections["default"].close()
        return f"error: {type(error).__name__}"
    return "ok"


def check_redis() -> str:
    """PING every Redis of the channel layer; return "ok", "not configured" or the failure."""
    if not settings.REDIS_HOSTS:
        return "not configured"
    for host in settings.REDIS_HOSTS:
        client = _short_lived_client(host)
        try:
            client.ping()
        except Exception as error:
            logger.warning("Readiness: Redis unreachable: %s", error)
            return f"error: {type(error).__name__}"
        finally:
            client.close()
    return "ok"


def persist_queue_depth() -> int | None:
    """Messages waiting on the persist channel, over every Redis shard (None without Redis)."""
    if not settings.REDIS_HOSTS:
        return None
    layer_config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    key = layer_config["prefix"] + settings.PERSIST_CHANNEL
    depth = 0
    for host in settings.REDIS_HOSTS:
        client = _short_lived_client(host)
        try:
            depth += client.zcard(key)
        finally:
            client.close()
    return depth


def _short_lived_client(host: dict) -> redis.Redis:
    """A synchronous client for one check, with short timeouts and no retries."""
    url, kwargs = client_kwargs(host)
    kwargs.update(
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
        retry_on_timeout=False,
    )
    kwargs.pop("max_connections", None)
    return redis.Redis.from_url(url, **kwargs)
