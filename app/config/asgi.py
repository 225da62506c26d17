"""ASGI entrypoint: HTTP, the chat WebSockets, and the worker's channels."""

from app.config.env import default_settings_module

default_settings_module("app.config.settings.production")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from app.config import wiring  # noqa: E402
from app.config.routing import build_application  # noqa: E402
from app.ops.exporter import serve_metrics  # noqa: E402
from app.ops.interface_server import configure  # noqa: E402

application = build_application(django_asgi_app)
configure(wiring.send_limits())  # for app.ops.interface_server (the Procfile's web line)
serve_metrics()  # on METRICS_PORT, when set
