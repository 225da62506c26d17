"""The worker process: channels' ``Worker``, made fit to run a chat's persistence.

Three things channels' own worker does not do, and a worker role needs:

* ride out a Redis outage (channels' worker exits on the first layer error);
* stop pulling from Redis while it has plenty queued in memory, so a slow
  Postgres leaves messages waiting in Redis, where they are counted and safe;
* stop on SIGTERM (a rolling deploy) by reading no more, storing and
  acknowledging what it holds, then exiting 0, within the grace period.
"""

import asyncio
import logging
import signal

from channels.worker import Worker

from app.chat.worker import get_batcher
from app.ops.metrics import ERRORS

logger = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0
MAX_PENDING = 1000
DRAIN_SECONDS = 20.0


class PersistWorker(Worker):
    """A channels worker that survives outages, applies backpressure and drains on SIGTERM."""

    def __init__(self, *args, handle_signals: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.handle_signals = handle_signals

    async def handle(self) -> None:
        """Listen on every channel until stopped; then drain what was received."""
        stopping = asyncio.Event()
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stopping.set)
        listeners = [asyncio.ensure_future(self.listener(channel)) for channel in self.channels]
        await stopping.wait()
        logger.info("Worker stopping: reading no more, storing what it holds")
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        await self.drain()

    async def listener(self, channel: str) -> None:
        """Read ``channel`` forever, retrying with backoff while the layer is unreachable."""
        backoff = RETRY_FIRST_SECONDS
        while True:
            try:
                message = await self.channel_layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                ERRORS.labels(kind="layer_receive").inc()
                logger.warning("Worker could not read %r (%r); retrying", channel, error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_MAX_SECONDS)
                continue
            backoff = RETRY_FIRST_SECONDS
            await self._dispatch(channel, message)

    async def _dispatch(self, channel: str, message: dict) -> None:
        if not isinstance(message, dict) or not message.get("type"):
            ERRORS.labels(kind="worker_bad_message").inc()
            logger.error("Worker dropped a message with no type on %r", channel)
            return
        scope = {"type": "channel", "channel": channel}
        queue = self.get_or_create_application_instance(channel, scope)
        await queue.put(message)
        # Backpressure: while this much waits in memory, let Redis hold the rest.
        while queue.qsize() >= MAX_PENDING:  # noqa: ASYNC110 (queues signal no emptiness)
            await asyncio.sleep(0.01)

    async def drain(self) -> None:
        """Wait until every received message is stored and acknowledged (DRAIN_SECONDS at most)."""
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                while not self._drained():  # noqa: ASYNC110 (queues signal no emptiness)
                    await asyncio.sleep(0.02)
        except TimeoutError:
            ERRORS.labels(kind="worker_drain_timeout").inc()
            logger.error("Worker stopped with messages unstored after %s s", DRAIN_SECONDS)
            return
        logger.info("Worker drained")

    def _drained(self) -> bool:
        queued = sum(i["input_queue"].qsize() for i in self.application_instances.values())
        return not queued and get_batcher().idle
