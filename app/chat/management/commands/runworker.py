"""Channels' ``runworker`` with Parley's worker, plus Prometheus metrics on ``METRICS_PORT``."""

import logging

from channels.management.commands.runworker import Command as ChannelsRunworker
from django.conf import settings
from prometheus_client import start_http_server

from app.config import wiring

logger = logging.getLogger(__name__)


class Command(ChannelsRunworker):
    """Run a channel-layer worker that survives outages and drains on SIGTERM."""

    # Called as channels calls its Worker: (application=, channels=, channel_layer=).
    worker_class = staticmethod(wiring.persist_worker)

    def handle(self, *args, **options):
        """Start the metrics server (if configured), then the worker."""
        port = settings.WORKER_METRICS_PORT
        if port:
            start_http_server(port)
            logger.info("Worker metrics on :%d", port)
        super().handle(*args, **options)
