"""The ASGI protocol router: which consumer serves which scope."""

from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.urls import re_path

from app.config import wiring
from app.config.origin import origin_checked


def build_application(http_app):
    """Return the protocol router around Django's ASGI ``http_app``."""
    websocket_app = URLRouter(
        [
            # Any label, even one with a slash: the consumer answers bad ones with 4404.
            re_path(r"^chat/(?P<label>.*?)/?$", wiring.chat_consumer()),
            # Any other path is refused at the handshake (HTTP 403), not with a 500.
            re_path(r"", WebsocketDenier.as_asgi()),
        ]
    )
    if settings.WEBSOCKET_CHECK_ORIGIN:
        websocket_app = origin_checked(websocket_app)
    return ProtocolTypeRouter(
        {"http": http_app, "websocket": websocket_app, "channel": wiring.channel_router()}
    )
