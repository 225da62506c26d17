"""WSGI entrypoint for gunicorn: pages, admin, health and metrics."""

from django.core.wsgi import get_wsgi_application

from app.config.env import default_settings_module
from app.ops.exporter import serve_metrics

default_settings_module("app.config.settings.production")

application = get_wsgi_application()
serve_metrics()  # on METRICS_PORT, when set: by the first of gunicorn's workers to start
