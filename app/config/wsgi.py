"""WSGI entrypoint for gunicorn: pages, admin, health and metrics."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.config.settings.production")

application = get_wsgi_application()
