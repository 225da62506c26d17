"""The channel layer Parley configures: channels-redis' core layer on pools that wait."""

from channels_redis.core import RedisChannelLayer
from redis import asyncio as aioredis

from app.ops.redis import blocking_pool


class BlockingPoolRedisChannelLayer(RedisChannelLayer):
    """channels-redis' ``RedisChannelLayer`` whose pools wait at their limit instead of failing.

    channels-redis builds each host's pool with ``ConnectionPool.from_url``, which raises
    ``MaxConnectionsError`` once ``max_connections`` are in use: a burst of handshakes past
    the limit is answered with errors. Here every pool is a ``BlockingConnectionPool`` made
    from the same host options (``app.ops.redis.blocking_pool``). Sentinel hosts (no
    ``address``) keep channels-redis' own pool.
    """

    def create_pool(self, index: int) -> aioredis.ConnectionPool:
        """Called lazily, once per event loop and shard, for the pool of shard ``index``."""
        host = self.hosts[index]
        if "address" not in host:
            return super().create_pool(index)
        return blocking_pool(host)
