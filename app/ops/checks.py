"""Readiness checks: can this process reach Postgres and Redis right now?

Probes and scrapes come every few seconds from every pod, so Redis is asked
through one long-lived client per process and shard (``check_client``: a pool
of two, short timeouts), never through a connection opened per request.
"""

import logging
import threading

import redis
from django.conf import settings
from django.db import connections

from app.ops.redis import check_client

logger = logging.getLogger(__name__)

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


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
        try:
            shared_client(host).ping()
        except Exception as error:
            logger.warning("Readiness: Redis unreachable: %s", error)
            return f"error: {type(error).__name__}"
    return "ok"


def check_backlog() -> str:
    """Whether the workers keep up: "ok", "not configured", or how many messages wait."""
    try:
        depth = persist_queue_depth()
    except Exception as error:
        return f"error: {type(error).__name__}"
    if depth is None:
        return "not configured"
    if depth > settings.READINESS_MAX_BACKLOG:
        logger.warning("Readiness: %d messages wait for a worker", depth)
        return f"error: {depth} messages wait for a worker"
    return "ok"


def persist_queue_depth() -> int | None:
    """Messages waiting on the persist channel, over every Redis shard (None without Redis)."""
    if not settings.REDIS_HOSTS:
        return None
    layer_config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    key = layer_config["prefix"] + settings.PERSIST_CHANNEL
    return sum(shared_client(host).zcard(key) for host in settings.REDIS_HOSTS)


def shared_client(host: dict) -> redis.Redis:
    """This process's check client for one Redis, made on first use (threads share it)."""
    address = host["address"]
    with _clients_lock:
        if address not in _clients:
            _clients[address] = check_client(host)
        return _clients[address]
