"""Who is in each room, counted across every interface server.

With Redis each room is a hash of connection id -> member, refreshed by the
server holding the socket; entries of a server that died age out after the
TTL. Without Redis (``make run``) one process holds every socket, so a dict
is the whole truth.
"""

import json
import logging
import time
from collections import defaultdict
from typing import Protocol

from redis import asyncio as aioredis

from app.chat.events import MemberInfo

logger = logging.getLogger(__name__)


class PresenceStore(Protocol):
    """Where room membership lives."""

    async def add(self, label: str, members: list[MemberInfo]) -> None:
        """Record (or refresh) members of ``label``."""

    async def remove(self, label: str, connection_id: str) -> None:
        """Forget one member of ``label``."""

    async def members(self, label: str) -> list[MemberInfo]:
        """Return the live members of ``label``."""


class MemoryPresence:
    """Presence for a single process."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, MemberInfo]] = defaultdict(dict)

    async def add(self, label: str, members: list[MemberInfo]) -> None:
        """Record members of ``label``."""
        self._rooms[label].update({member["id"]: member for member in members})

    async def remove(self, label: str, connection_id: str) -> None:
        """Forget one member of ``label``."""
        self._rooms[label].pop(connection_id, None)
        if not self._rooms[label]:
            del self._rooms[label]

    async def members(self, label: str) -> list[MemberInfo]:
        """Return the members of ``label``."""
        return list(self._rooms.get(label, {}).values())


class RedisPresence:
    """Presence shared by every server through a Redis hash per room."""

    def __init__(self, client: aioredis.Redis, *, ttl: int) -> None:
        self._client = client
        self._ttl = ttl

    @staticmethod
    def key(label: str) -> str:
        """The Redis key holding the room's members."""
        return f"parley:presence:{label}"

    async def add(self, label: str, members: list[MemberInfo]) -> None:
        """Record or refresh members, stamped with the current time."""
        if not members:
            return
        now = time.time()
        mapping = {m["id"]: json.dumps({**m, "seen": now}) for m in members}
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hset(self.key(label), mapping=mapping)
            pipe.expire(self.key(label), self._ttl * 2)
            await pipe.execute()

    async def remove(self, label: str, connection_id: str) -> None:
        """Forget one member."""
        await self._client.hdel(self.key(label), connection_id)

    async def members(self, label: str) -> list[MemberInfo]:
        """Return members seen within the TTL, dropping the stale ones."""
        raw = await self._client.hgetall(self.key(label))
        cutoff = time.time() - self._ttl
        live: list[MemberInfo] = []
        stale: list[str] = []
        for field, value in raw.items():
            member = json.loads(value)
            if member.pop("seen", 0) >= cutoff:
                live.append(member)
            else:
                stale.append(field)
        if stale:
            await self._client.hdel(self.key(label), *stale)
        return sorted(live, key=lambda member: member.get("since", 0))
