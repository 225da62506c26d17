"""Channels' ``runworker``, plus a Prometheus endpoint on ``METRICS_PORT`` when set."""

import logging

from channels.management.commands.runworker import Command as ChannelsRunworker
from django.conf import settings
from prometheus_client import start_http_server

import app.ops.metrics  # noqa: F401  (registers Parley's metrics)

logger = logging.getLogger(__name__)


class Command(ChannelsRunworker):
    """Run a channel-layer worker, exposing its metrics over HTTP."""

    def handle(self, *args, **options):
        """Start the metrics server (if configured), then the worker."""
        port = settings.WORKER_METRICS_PORT
        if port:
            start_http_server(port)
            logger.info("Worker metrics on :%d", port)
        super().handle(*args, **options)
