"""This process's hub, one per event loop: the interface server's loop (tests run several)."""

import asyncio
import weakref
from collections.abc import Awaitable, Callable

from app.chat.hub import Hub


class Hubs:
    """This process's hub, one per event loop, made by ``start_hub`` on first use."""

    def __init__(self, start_hub: Callable[[], Awaitable[Hub]]) -> None:
        self._start_hub = start_hub
        self._hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = (
            weakref.WeakKeyDictionary()
        )
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    async def get(self) -> Hub:
        """Return this event loop's hub, starting it on first use."""
        loop = asyncio.get_running_loop()
        hub = self._hubs.get(loop)
        if hub is not None:
            return hub
        async with self._locks.setdefault(loop, asyncio.Lock()):
            if loop not in self._hubs:
                self._hubs[loop] = await self._start_hub()
        return self._hubs[loop]
