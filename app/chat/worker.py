"""The worker role: channels' ``Worker`` reading the persist channel into a ``PersistBatcher``.

Interface servers send each valid message to the persist channel;
``manage.py runworker chat.persist`` reads it (several workers compete for
it). Three things channels' own worker does not do, and a worker role needs:

* ride out a Redis outage (channels' worker exits on the first layer error);
* stop pulling from Redis while it has plenty queued in memory, so a slow
  Postgres leaves messages waiting in Redis, where they are counted and safe;
* stop on SIGTERM (a rolling deploy) by reading no more, storing and
  acknowledging what it holds, then exiting 0, within the grace period.
"""

import asyncio
import logging
import signal
from typing import Any

from channels.consumer import AsyncConsumer
from channels.layers import get_channel_layer
from channels.worker import Worker

from app.chat.batcher import PersistBatcher
from app.chat.events import Event, message_from_persist_event
from app.chat.retry import Backoff, retry
from app.ops.metrics import ERRORS

logger = logging.getLogger(__name__)

# Sent by the worker itself, never over the layer: "tell me once all before me is stored".
DRAIN_EVENT_TYPE = "persist.drain"


class PersistConsumer(AsyncConsumer):
    """Consumes the persist channel: one instance per channel per worker, holding its batcher."""

    def __init__(
        self, *, batch_size: int, window: float, store_backoff: Backoff, send_backoff: Backoff
    ) -> None:
        super().__init__()
        self._batcher_options = {
            "batch_size": batch_size,
            "window": window,
            "store_backoff": store_backoff,
            "send_backoff": send_backoff,
        }
        self._batcher: PersistBatcher | None = None

    @property
    def batcher(self) -> PersistBatcher:
        """This consumer's batcher, made on first use (the layer is known by then)."""
        if self._batcher is None:
            self._batcher = PersistBatcher(self.channel_layer, **self._batcher_options)
        return self._batcher

    async def message_persist(self, event: Event) -> None:
        """Called for each message an interface server sends to be stored."""
        await self.batcher.submit(message_from_persist_event(event))

    async def message_persist_many(self, event: Event) -> None:
        """Called with the unacknowledged messages of a connection that closed."""
        for item in event["drafts"]:
            await self.batcher.submit(message_from_persist_event(item))

    async def __call__(self, scope, receive, send) -> None:
        """Called once per channel by the worker: handle its events in order, for good.

        Unlike channels' own loop, it reads no private channel of its own (nobody
        sends to one, and a Redis blip there would end the consumer), and an event
        it cannot handle is logged and dropped rather than ending the consumer
        with the events queued behind it.
        """
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        while True:
            event = await receive()
            try:
                await self.dispatch(event)
            except Exception:
                ERRORS.labels(kind="worker_bad_message").inc()
                logger.exception("Worker dropped an event of type %r", event.get("type"))

    async def persist_drain(self, event: dict[str, Any]) -> None:
        """Called by a stopping worker: resolve its future once all received so far is stored."""
        await self.batcher.wait_idle()
        event["done"].set_result(None)


class PersistWorker(Worker):
    """A channels worker that survives outages, applies backpressure and drains on SIGTERM."""

    def __init__(
        self,
        *args,
        receive_backoff: Backoff,
        max_pending: int,
        drain_seconds: float,
        handle_signals: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.receive_backoff = receive_backoff
        self.max_pending = max_pending
        self.drain_seconds = drain_seconds
        self.handle_signals = handle_signals
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Read no more; store and acknowledge what was read, then return from ``run``."""
        self._stopping.set()

    async def handle(self) -> None:
        """Listen on every channel until stopped (SIGTERM, SIGINT, ``stop``); then drain."""
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self.stop)
        listeners = [asyncio.ensure_future(self.listener(channel)) for channel in self.channels]
        await self._stopping.wait()
        logger.info("Worker stopping: reading no more, storing what it holds")
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        await self.drain()

    async def listener(self, channel: str) -> None:
        """Read ``channel`` forever, retrying with backoff while the layer is unreachable."""

        def receive_failed(error: BaseException, delay: float) -> None:
            ERRORS.labels(kind="layer_receive").inc()
            logger.warning("Worker could not read %r (%r); retrying", channel, error)

        while True:
            message = await retry(
                lambda: self.channel_layer.receive(channel),
                backoff=self.receive_backoff,
                on_retry=receive_failed,
            )
            await self._dispatch(channel, message)

    async def drain(self) -> None:
        """Wait until all received is stored and acknowledged (``drain_seconds`` at most)."""
        loop = asyncio.get_running_loop()
        drained = []
        for channel, instance in self.application_instances.items():
            done = loop.create_future()
            await instance["input_queue"].put({"type": DRAIN_EVENT_TYPE, "done": done})
            drained.append(done)
            logger.debug("Draining %r", channel)
        try:
            async with asyncio.timeout(self.drain_seconds):
                await asyncio.gather(*drained)
        except TimeoutError:
            ERRORS.labels(kind="worker_drain_timeout").inc()
            logger.error("Worker stopped with messages unstored after %s s", self.drain_seconds)
            return
        logger.info("Worker drained")

    async def _dispatch(self, channel: str, message: Event) -> None:
        if not isinstance(message, dict) or message.get("type") in (None, "", DRAIN_EVENT_TYPE):
            ERRORS.labels(kind="worker_bad_message").inc()
            logger.error("Worker dropped a message with no (or a reserved) type on %r", channel)
            return
        scope = {"type": "channel", "channel": channel}
        queue = self.get_or_create_application_instance(channel, scope)
        await queue.put(message)
        # Backpressure: while this much waits in memory, let Redis hold the rest.
        while queue.qsize() >= self.max_pending:  # noqa: ASYNC110 (queues signal no emptiness)
            await asyncio.sleep(0.01)
