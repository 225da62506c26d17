"""WebSocket routes: ``/chat/<label>/`` for every label; the consumer checks it."""

from channels.security.websocket import WebsocketDenier
from django.urls import re_path

from app.chat.consumers import ChatConsumer

websocket_urlpatterns = [
    # Any label, even one with a slash: the consumer answers bad ones with 4404.
    re_path(r"^chat/(?P<label>.*?)/?$", ChatConsumer.as_asgi()),
    # Any other path is refused at the handshake (HTTP 403), not with a 500.
    re_path(r"", WebsocketDenier.as_asgi()),
]
