"""Prometheus metrics on a port of their own (``METRICS_PORT``), apart from the app's.

The Ingress and the Heroku router reach only the HTTP port, so metrics served on a
separate listener are never public; the ServiceMonitor scrapes that port. With
``METRICS_PORT`` set the app's own ``/metrics`` answers 404. The ASGI and WSGI
entrypoints and the worker's ``runworker`` call ``serve_metrics`` (once per
process); gunicorn's worker processes all try: the first one serves and the
others find the port taken, which is expected and logged.
"""

import errno
import logging
import threading

from django.conf import settings
from prometheus_client import start_http_server

import app.ops.metrics  # noqa: F401  (registers Parley's metrics)

logger = logging.getLogger(__name__)

_started = threading.Event()


def serve_metrics() -> bool:
    """Serve this process's metrics on ``settings.METRICS_PORT`` (if set); True if it does."""
    port = settings.METRICS_PORT
    if not port or _started.is_set():
        return _started.is_set()
    try:
        start_http_server(port)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        logger.info("Metrics port %d is already served in this pod; not serving it here", port)
        return False
    _started.set()
    logger.info("Prometheus metrics on :%d/metrics", port)
    return True
