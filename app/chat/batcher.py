"""Storing messages a batch at a time, then broadcasting and acknowledging them.

A batch is stored in one transaction (see ``services.messages_store``); then
each new message is sent once to its room's group and each sender gets its
ack, so an ack always means the message is durably stored.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from django.db import DatabaseError, DataError, IntegrityError

from app.chat.events import ack_event, room_group, room_message_event
from app.chat.messages import ChatMessage
from app.chat.retry import Backoff, retry
from app.chat.services import messages_store
from app.ops.metrics import BATCH_SIZE, ERRORS, MESSAGES_STORED, PERSIST_LATENCY

logger = logging.getLogger(__name__)

# What the database refuses for the data itself: retrying cannot help, isolating can.
REFUSED = (IntegrityError, DataError)


@dataclass(eq=False)
class PersistBatcher:
    """Collects messages to store and stores them a batch at a time."""

    layer: Any
    _: KW_ONLY
    batch_size: int
    window: float
    store_backoff: Backoff
    send_backoff: Backoff

    def __post_init__(self) -> None:
        # Bounded: while Postgres is slow, messages wait in Redis, not in memory.
        self.queue: asyncio.Queue[ChatMessage] = asyncio.Queue(maxsize=self.batch_size * 4)
        self._task: asyncio.Task | None = None
        self._unfinished = 0  # submitted, not yet stored and announced
        self._idle = asyncio.Event()
        self._idle.set()

    async def wait_idle(self) -> None:
        """Return once every message submitted so far is stored and announced (or given up)."""
        await self._idle.wait()

    async def submit(self, message: ChatMessage) -> None:
        """Queue one message, waiting while the queue is full."""
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        self._unfinished += 1
        self._idle.clear()
        await self.queue.put(message)

    async def flush(self, batch: list[ChatMessage]) -> None:
        """Store ``batch``, then broadcast the new messages and ack every sender."""
        stored = await self._store(batch)
        BATCH_SIZE.observe(len(batch))
        now = time.time()
        for item in stored:
            if not item.duplicate:
                MESSAGES_STORED.inc()
                if item.received_at:
                    PERSIST_LATENCY.observe(max(0.0, now - item.received_at))
        await self._announce(stored)

    async def _run(self) -> None:
        while True:
            batch = await self._collect()
            try:
                await self.flush(batch)
            except Exception:
                ERRORS.labels(kind="persist").inc()
                logger.exception("Dropped a batch of %d message(s) unacknowledged", len(batch))
            finally:
                self._unfinished -= len(batch)
                if self._unfinished == 0:
                    self._idle.set()

    async def _collect(self) -> list[ChatMessage]:
        batch = [await self.queue.get()]
        deadline = time.monotonic() + self.window
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self.queue.get(), remaining))
            except TimeoutError:
                break
        while len(batch) < self.batch_size and not self.queue.empty():
            batch.append(self.queue.get_nowait())
        return batch

    async def _store(self, batch: list[ChatMessage]) -> list[ChatMessage]:
        try:
            return await self._store_retrying(batch)
        except REFUSED:
            return await self._store_one_by_one(batch)

    async def _store_one_by_one(self, batch: list[ChatMessage]) -> list[ChatMessage]:
        """Isolate the message the database refuses, so it cannot sink the rest."""
        stored: list[ChatMessage] = []
        for message in batch:
            try:
                stored += await self._store_retrying([message])
            except REFUSED:
                ERRORS.labels(kind="rejected_by_database").inc()
                logger.exception("Database refused a message for room %r", message.label)
        return stored

    async def _store_retrying(self, drafts: list[ChatMessage]) -> list[ChatMessage]:
        """Store ``drafts`` in one transaction, waiting out an unreachable database."""
        return await retry(
            lambda: database_sync_to_async(messages_store)(drafts=drafts),
            backoff=self.store_backoff,
            retry_on=DatabaseError,
            give_up_on=REFUSED,
            on_retry=_store_failed,
        )

    async def _announce(self, stored: list[ChatMessage]) -> None:
        # Duplicates are broadcast again: a resend means the first broadcast may
        # have died with its worker, and hubs deliver each number only once.
        for item in stored:
            await self._send(
                self.layer.group_send, room_group(item.label), room_message_event(item)
            )
            if item.reply_channel:
                await self._send(self.layer.send, item.reply_channel, ack_event(item))

    async def _send(self, method: Callable[[str, dict], Awaitable[None]], to: str, event) -> None:
        """Send on the layer, riding out a short Redis outage (history fills any loss).

        A full channel is not waited for: it belongs to a socket or server that
        is gone or stuck, and waiting would hold up every other room's messages.
        """
        try:
            await retry(
                lambda: method(to, event), backoff=self.send_backoff, give_up_on=(ChannelFull,)
            )
        except ChannelFull:
            ERRORS.labels(kind="channel_full").inc()
            logger.warning("Dropped a %s to %s: its channel is full", event["type"], to)
        except Exception:
            ERRORS.labels(kind="broadcast").inc()
            logger.exception("Giving up a layer send to %s", to)


def _store_failed(error: BaseException, delay: float) -> None:
    ERRORS.labels(kind="database").inc()
    logger.warning("Storing a batch failed (%r); retrying in %s s", error, delay)
