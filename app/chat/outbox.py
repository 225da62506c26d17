"""A connection's messages on their way to the workers, one in flight at a time.

Workers compete for the persist channel, so two messages sent back to back
could be stored by two workers in either order. Holding each next message
until the previous one is acknowledged keeps every sender's messages in the
order sent. A message not acknowledged in time (its worker died) is sent
again; its id makes the resend harmless.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from app.chat.exceptions import OutboxFull
from app.chat.messages import ChatMessage
from app.chat.retry import Backoff

logger = logging.getLogger(__name__)


class Outbox:
    """FIFO of drafts with a single one awaiting its ack."""

    def __init__(
        self,
        send: Callable[[ChatMessage], Awaitable[None]],
        *,
        limit: int = 100,
        resends: Backoff,
    ) -> None:
        self._send = send
        self._limit = limit
        # The waits for an ack before each resend: a lost ack is a dead worker; one
        # still missing after that is an overloaded or unreachable store, so back off.
        self._resends = resends
        self._queue: deque[ChatMessage] = deque()
        self._in_flight: ChatMessage | None = None
        self._resender: asyncio.Task | None = None

    def __len__(self) -> int:
        return len(self._queue) + (self._in_flight is not None)

    async def put(self, draft: ChatMessage) -> None:
        """Queue ``draft``; send it now if nothing is awaiting an ack."""
        if len(self) >= self._limit:
            raise OutboxFull(self._limit)
        self._queue.append(draft)
        await self._send_next()

    async def acked(self, client_id: str | None) -> None:
        """The worker stored the message with ``client_id``: send the next one."""
        if self._in_flight is None or self._in_flight.client_id != client_id:
            return  # the ack of an earlier resend
        self._in_flight = None
        self._stop_resender()
        await self._send_next()

    def close(self) -> None:
        """Stop resending (the connection is gone)."""
        self._stop_resender()
        self._queue.clear()

    def drain(self) -> list[ChatMessage]:
        """Stop, and return every message not yet acknowledged, in the order sent."""
        unsent = [self._in_flight] if self._in_flight is not None else []
        unsent.extend(self._queue)
        self._in_flight = None
        self.close()
        return unsent

    async def _send_next(self) -> None:
        if self._in_flight is not None or not self._queue:
            return
        draft = self._in_flight = self._queue.popleft()
        # The resender starts first, so a failed first send is retried like a lost ack.
        self._resender = asyncio.ensure_future(self._resend_until_acked(draft))
        try:
            await self._send(draft)
        except Exception:
            logger.warning("Sending %s failed; retrying", draft.client_id, exc_info=True)

    async def _resend_until_acked(self, draft: ChatMessage) -> None:
        for delay in self._resends.delays():
            await asyncio.sleep(delay)
            logger.warning("No ack for %s after %.1f s; sending again", draft.client_id, delay)
            try:
                await self._send(draft)
            except Exception:  # the layer is down: keep trying, or the sender stalls for good
                logger.warning("Resending %s failed", draft.client_id, exc_info=True)

    def _stop_resender(self) -> None:
        if self._resender is not None:
            self._resender.cancel()
            self._resender = None
