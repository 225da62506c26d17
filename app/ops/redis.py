"""Redis connection options and clients shared by the channel layer, presence and readiness.

Three defaults of the client libraries are wrong for a chat server and are set
on purpose here:

* redis-py 8's pool refuses a connection past its limit (``MaxConnectionsError``)
  instead of waiting, so a burst of handshakes past the limit fails. Every pool
  here is a ``BlockingConnectionPool``: at its limit a command waits up to
  ``POOL_TIMEOUT_SECONDS`` for a free connection. The limit is
  ``REDIS_MAX_CONNECTIONS``, per pool; keep it within what the Redis plan allows.
* redis-py 8 times sockets out after 5 s, the same time channels-redis blocks
  in ``BZPOPMIN``: an idle receive loop then dies with ``TimeoutError``. The
  socket timeout here is kept well above the layer's blocking pop.
* A client per check opens a connection per readiness probe and per scrape.
  ``check_client`` is one small, long-lived pool per process with short
  timeouts, and its connections name themselves (``CLIENT LIST``).
"""

from typing import Any

import redis
from redis import asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

CHANNELS_REDIS_BLOCKING_POP_SECONDS = 5
SOCKET_TIMEOUT_SECONDS = CHANNELS_REDIS_BLOCKING_POP_SECONDS * 3
# A command waits this long for a free pooled connection, then fails. Longer than the
# blocking pop, so a connection held by a receive loop is always given back in time.
POOL_TIMEOUT_SECONDS = CHANNELS_REDIS_BLOCKING_POP_SECONDS * 2
# Readiness and metrics: answer fast, and retry once (a connection Redis closed while idle).
CHECK_TIMEOUT_SECONDS = 2
CHECK_POOL_SIZE = 2  # a probe and a scrape at the same moment
CHECK_CLIENT_NAME = "parley-check"


def redis_options(url: str, *, max_connections: int, tls_verify: bool) -> dict[str, Any]:
    """Return keyword arguments for a redis-py connection pool for ``url``."""
    options: dict[str, Any] = {
        "address": url,
        "max_connections": max_connections,
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        "health_check_interval": 30,
        "retry_on_timeout": True,
    }
    if url.startswith("rediss://") and not tls_verify:
        # Heroku Redis presents self-signed certificates: encrypt, do not verify.
        options["ssl_cert_reqs"] = "none"
        options["ssl_check_hostname"] = False
    return options


def client_kwargs(options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Split channel-layer style options into ``(url, kwargs)`` for ``Redis.from_url``."""
    kwargs = dict(options)
    url = kwargs.pop("address")
    return url, kwargs


def blocking_pool(options: dict[str, Any], **overrides: Any) -> aioredis.BlockingConnectionPool:
    """An asyncio pool for ``options`` that waits for a free connection at its limit."""
    url, kwargs = client_kwargs(options)
    kwargs.update(overrides)
    return aioredis.BlockingConnectionPool.from_url(url, timeout=POOL_TIMEOUT_SECONDS, **kwargs)


def async_client(options: dict[str, Any], **overrides: Any) -> aioredis.Redis:
    """An asyncio client on a ``blocking_pool`` of its own (closing the client closes it)."""
    return aioredis.Redis.from_pool(blocking_pool(options, **overrides))


def check_client(options: dict[str, Any]) -> redis.Redis:
    """A synchronous client for readiness and metrics: keep one per process and reuse it."""
    url, kwargs = client_kwargs(options)
    kwargs.update(
        max_connections=CHECK_POOL_SIZE,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
        retry_on_timeout=False,
        retry=Retry(NoBackoff(), retries=1),
        client_name=CHECK_CLIENT_NAME,
    )
    pool = redis.BlockingConnectionPool.from_url(url, timeout=CHECK_TIMEOUT_SECONDS, **kwargs)
    return redis.Redis(connection_pool=pool)
