"""Channels' ``runworker``, plus a Prometheus endpoint on ``METRICS_PORT`` when set.

Channels' own worker exits on the first channel-layer error, so a Redis
restart would take every worker down with it; this one waits and reads on.
"""

import asyncio
import logging

from channels.management.commands.runworker import Command as ChannelsRunworker
from channels.worker import Worker
from django.conf import settings
from prometheus_client import start_http_server

from app.ops.metrics import ERRORS

logger = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0


class ResilientWorker(Worker):
    """Channels' worker, riding out channel-layer outages instead of exiting."""

    async def listener(self, channel: str) -> None:
        """Read ``channel`` forever, retrying with backoff while the layer is unreachable."""
        backoff = RETRY_FIRST_SECONDS
        while True:
            try:
                message = await self.channel_layer.receive(channel)
            except Exception:
                ERRORS.labels(kind="layer_receive").inc()
                logger.warning("Worker could not read %r; retrying", channel, exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_MAX_SECONDS)
                continue
            backoff = RETRY_FIRST_SECONDS
            if not message.get("type"):
                raise ValueError("Worker received message with no type.")
            scope = {"type": "channel", "channel": channel}
            await self.get_or_create_application_instance(channel, scope).put(message)


class Command(ChannelsRunworker):
    """Run a channel-layer worker, exposing its metrics over HTTP."""

    worker_class = ResilientWorker

    def handle(self, *args, **options):
        """Start the metrics server (if configured), then the worker."""
        port = settings.WORKER_METRICS_PORT
        if port:
            start_http_server(port)
            logger.info("Worker metrics on :%d", port)
        super().handle(*args, **options)
