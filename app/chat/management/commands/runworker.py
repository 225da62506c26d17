"""Channels' ``runworker`` with Parley's worker, plus Prometheus metrics on ``METRICS_PORT``."""

from channels.management.commands.runworker import Command as ChannelsRunworker

from app.config import wiring
from app.ops.exporter import serve_metrics


class Command(ChannelsRunworker):
    """Run a channel-layer worker that survives outages and drains on SIGTERM."""

    # Called as channels calls its Worker: (application=, channels=, channel_layer=).
    worker_class = staticmethod(wiring.persist_worker)

    def handle(self, *args, **options):
        """Start the metrics server (if configured), then the worker."""
        serve_metrics()  # the worker has no HTTP server of its own
        super().handle(*args, **options)
