"""WebSocket routes: ``/chat/<label>/`` for every label; the consumer checks it."""

from django.urls import re_path

from app.chat.consumers import ChatConsumer

websocket_urlpatterns = [
    re_path(r"^chat/(?P<label>[^/]*)/?$", ChatConsumer.as_asgi()),
]
