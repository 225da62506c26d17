"""A token bucket, and the per-connection allowance of frames built on it."""

import time
from collections.abc import Callable
from dataclasses import dataclass

from app.chat.exceptions import Flooding


class TokenBucket:
    """Allows ``burst`` frames at once and ``rate`` per second after that."""

    def __init__(
        self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def take(self) -> float:
        """Spend a token: return 0.0 when allowed, else the seconds until one is due."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


class FrameAllowance:
    """A connection's frame allowance, and how long a client may ignore being over it.

    A frame over the allowance is dropped with ``RateLimited``. A client that
    cannot hear that error (plain), or that ignored ``burst`` of them in a row
    (opted-in), is ``Flooding``: the connection cannot go on.
    """

    def __init__(self, bucket: TokenBucket, *, warns: bool) -> None:
        self._bucket = bucket
        self._warns = warns
        self._strikes = 0  # frames refused in a row

    def take(self) -> float:
        """Spend one frame's token: 0.0 when allowed, else the seconds until one is due.

        Raises ``Flooding`` when the connection must be closed instead.
        """
        retry_after = self._bucket.take()
        self._strikes = self._strikes + 1 if retry_after else 0
        if retry_after and (not self._warns or self._strikes > self._bucket.burst):
            raise Flooding(retry_after)
        return retry_after


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Frames a connection may send: ``burst`` at once, ``per_second`` after that."""

    per_second: float
    burst: int

    def allowance(self, *, warns: bool) -> FrameAllowance:
        """A fresh allowance for one connection (``warns``: it hears rate_limited errors)."""
        return FrameAllowance(TokenBucket(rate=self.per_second, burst=self.burst), warns=warns)
