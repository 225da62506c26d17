"""WSGI entrypoint for gunicorn: pages, admin, health and metrics."""

from django.core.wsgi import get_wsgi_application

from app.config.env import default_settings_module

default_settings_module("app.config.settings.production")

application = get_wsgi_application()
