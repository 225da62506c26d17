"""Retrying with exponential backoff: the one policy every Parley loop rides out outages with.

Written here rather than taken from tenacity: it runs around every channel-layer
receive and send, on the hot path, where one ``try`` is all a success should cost.
"""

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays of ``first``, then ``factor`` times longer each, capped at ``maximum``.

    ``retries`` is how many delays there are before giving up (None: never).
    ``jitter`` spreads each delay by up to that fraction either way, so that
    many clients failing together do not retry together.
    """

    first: float
    maximum: float
    factor: float = 2.0
    retries: int | None = None
    jitter: float = 0.0

    def delays(self) -> Iterator[float]:
        """Yield the delay before each retry, in order."""
        delay = self.first
        counter = itertools.count() if self.retries is None else range(self.retries)
        for _ in counter:
            spread = 1.0 + random.uniform(-self.jitter, self.jitter)  # noqa: S311 (not crypto)
            yield min(delay, self.maximum) * spread
            delay *= self.factor


async def retry(
    call: Callable[[], Awaitable[T]],
    *,
    backoff: Backoff,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    give_up_on: tuple[type[BaseException], ...] = (),
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> T:
    """Await ``call()`` until it succeeds, sleeping ``backoff``'s delays between failures.

    Errors outside ``retry_on``, or inside ``give_up_on``, propagate at once;
    the last one propagates once the delays run out. ``on_retry(error, delay)``
    hears of each failure that is retried (to log and count it).
    """
    delays = backoff.delays()
    while True:
        try:
            return await call()
        except give_up_on:
            raise
        except retry_on as error:
            delay = next(delays, None)
            if delay is None:
                raise
            if on_retry is not None:
                on_retry(error, delay)
            await asyncio.sleep(delay)
