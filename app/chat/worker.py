"""The worker role: store messages in batches, then broadcast and acknowledge them.

Interface servers send each valid message to the ``chat.persist`` channel;
``manage.py runworker chat.persist`` reads it (several workers compete for
it). A batch is stored in one transaction (see ``services.messages_store``),
then each new message is sent once to its room's group and each sender gets
its ack, so an ack always means the message is durably stored.
"""

import asyncio
import logging
import time
import weakref
from typing import Any

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError

from app.chat.events import event_from_stored
from app.chat.hub import room_group
from app.chat.services import MessageDraft, StoredMessage, messages_store
from app.ops.metrics import BATCH_SIZE, ERRORS, MESSAGES_STORED, PERSIST_LATENCY

logger = logging.getLogger(__name__)

STORE_RETRY_SECONDS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30)


def persist_event(draft: MessageDraft) -> dict[str, Any]:
    """The message an interface server sends to the persist channel."""
    return {
        "type": "message.persist",
        "room": draft.label,
        "handle": draft.handle,
        "message": draft.message,
        "client_id": draft.client_id,
        "reply_channel": draft.reply_channel,
        "received_at": draft.received_at,
    }


def persist_many_event(drafts: list[MessageDraft]) -> dict[str, Any]:
    """The unacknowledged messages of a closed connection, in one message.

    One message, so one worker stores them in the order they were sent; with
    nobody left to hear an ack, none is asked for.
    """
    return {
        "type": "message.persist_many",
        "drafts": [{**persist_event(draft), "reply_channel": None} for draft in drafts],
    }


def draft_from_event(event: dict[str, Any]) -> MessageDraft:
    """Rebuild the draft from a persist-channel message."""
    return MessageDraft(
        label=event["room"],
        handle=event["handle"],
        message=event["message"],
        client_id=event.get("client_id"),
        reply_channel=event.get("reply_channel"),
        received_at=event.get("received_at", 0.0),
    )


class PersistBatcher:
    """Collects persist requests and stores them a batch at a time."""

    def __init__(self, layer, *, batch_size: int, window: float) -> None:
        self.layer = layer
        self.batch_size = batch_size
        self.window = window
        # Bounded: while Postgres is slow, messages wait in Redis, not in memory.
        self.queue: asyncio.Queue[MessageDraft] = asyncio.Queue(maxsize=batch_size * 4)
        self._task: asyncio.Task | None = None
        self._unfinished = 0  # submitted, not yet stored and announced

    @property
    def idle(self) -> bool:
        """Whether every submitted draft has been stored and announced (or given up)."""
        return self._unfinished == 0

    async def submit(self, draft: MessageDraft) -> None:
        """Queue one draft, waiting while the queue is full."""
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        self._unfinished += 1
        await self.queue.put(draft)

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

    async def _collect(self) -> list[MessageDraft]:
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

    async def flush(self, batch: list[MessageDraft]) -> None:
        """Store ``batch``, then broadcast the new messages and ack every sender."""
        stored = await self._store(batch)
        BATCH_SIZE.observe(len(batch))
        now = time.time()
        for item in stored:
            if not item.duplicate:
                MESSAGES_STORED.inc()
                if item.draft.received_at:
                    PERSIST_LATENCY.observe(max(0.0, now - item.draft.received_at))
        await self._announce(stored)

    async def _store(self, batch: list[MessageDraft]) -> list[StoredMessage]:
        store = database_sync_to_async(messages_store)
        for delay in (*STORE_RETRY_SECONDS, None):
            try:
                return await store(drafts=batch)
            except (IntegrityError, DataError):
                return await self._store_one_by_one(batch)
            except DatabaseError:
                if delay is None:
                    raise
                ERRORS.labels(kind="database").inc()
                logger.warning("Storing a batch failed; retrying in %s s", delay, exc_info=True)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _store_one_by_one(self, batch: list[MessageDraft]) -> list[StoredMessage]:
        """Isolate the draft the database refuses, so it cannot sink the rest."""
        stored: list[StoredMessage] = []
        for draft in batch:
            try:
                stored += await database_sync_to_async(messages_store)(drafts=[draft])
            except (IntegrityError, DataError):
                ERRORS.labels(kind="rejected_by_database").inc()
                logger.exception("Database refused a message for room %r", draft.label)
        return stored

    async def _announce(self, stored: list[StoredMessage]) -> None:
        for item in stored:
            if not item.duplicate:
                await self._retrying(
                    self.layer.group_send, room_group(item.draft.label), event_from_stored(item)
                )
            if item.draft.reply_channel:
                ack = {
                    "type": "chat.ack",
                    "client_id": item.draft.client_id,
                    "seq": item.seq,
                    "duplicate": item.duplicate,
                }
                await self._retrying(self.layer.send, item.draft.reply_channel, ack)

    @staticmethod
    async def _retrying(method, *args, attempts: int = 5) -> None:
        """Send on the layer, riding out a short Redis outage (history fills any loss)."""
        for attempt in range(attempts):
            try:
                await method(*args)
                return
            except Exception:
                if attempt == attempts - 1:
                    ERRORS.labels(kind="broadcast").inc()
                    logger.exception("Giving up a layer send to %s", args[0])
                    return
                await asyncio.sleep(0.2 * 2**attempt)


_batchers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PersistBatcher]" = (
    weakref.WeakKeyDictionary()
)


def get_batcher() -> PersistBatcher:
    """Return this event loop's batcher."""
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        config = settings.PARLEY
        batcher = _batchers[loop] = PersistBatcher(
            get_channel_layer(),
            batch_size=config["BATCH_SIZE"],
            window=config["BATCH_WINDOW_SECONDS"],
        )
    return batcher


class PersistConsumer(AsyncConsumer):
    """Consumes the persist channel in the worker role."""

    async def message_persist(self, event: dict[str, Any]) -> None:
        """Called for each message an interface server sends to be stored."""
        await get_batcher().submit(draft_from_event(event))

    async def message_persist_many(self, event: dict[str, Any]) -> None:
        """Called with the unacknowledged messages of a connection that closed."""
        batcher = get_batcher()
        for item in event["drafts"]:
            await batcher.submit(draft_from_event(item))


async def start_inprocess_worker() -> None:
    """Run the worker inside this process (``make run``: no Redis, one process)."""
    from app.chat.worker_server import PersistWorker
    from app.config.asgi import application

    channel = settings.PARLEY["PERSIST_CHANNEL"]
    logger.info("Running the persist worker in-process on %r", channel)
    worker = PersistWorker(
        application=application,
        channels=[channel],
        channel_layer=get_channel_layer(),
        handle_signals=False,  # the server owns the process's signals
    )
    await worker.arun()
