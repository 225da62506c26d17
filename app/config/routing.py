"""The ASGI protocol router: which consumer serves which scope."""

from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter
from django.conf import settings

from app.chat.routing import websocket_urlpatterns
from app.chat.worker import PersistConsumer
from app.config.origin import origin_checked


def build_application(http_app):
    """Return the protocol router around Django's ASGI ``http_app``."""
    websocket_app = URLRouter(websocket_urlpatterns)
    if settings.WEBSOCKET_CHECK_ORIGIN:
        websocket_app = origin_checked(websocket_app)
    return ProtocolTypeRouter(
        {
            "http": http_app,
            "websocket": websocket_app,
            "channel": ChannelNameRouter(
                {settings.PARLEY["PERSIST_CHANNEL"]: PersistConsumer.as_asgi()}
            ),
        }
    )
