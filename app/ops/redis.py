"""Redis connection options shared by the channel layer, presence and readiness.

Two defaults of the client libraries are wrong for a chat server and are set
on purpose here:

* redis-py 8's pool refuses the 101st concurrent connection
  (``MaxConnectionsError``) instead of waiting, so a burst of handshakes past
  ~100 sockets fails. Parley's pool is sized by ``REDIS_MAX_CONNECTIONS``.
* redis-py 8 times sockets out after 5 s, the same time channels-redis blocks
  in ``BZPOPMIN``: an idle receive loop then dies with ``TimeoutError``. The
  socket timeout here is kept well above the layer's blocking pop.
"""

from typing import Any

CHANNELS_REDIS_BLOCKING_POP_SECONDS = 5
SOCKET_TIMEOUT_SECONDS = CHANNELS_REDIS_BLOCKING_POP_SECONDS * 3


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
