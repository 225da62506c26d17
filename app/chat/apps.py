"""The chat application: rooms, messages and their real-time delivery."""

from django.apps import AppConfig


class ChatConfig(AppConfig):
    """Django application config for the chat."""

    name = "app.chat"
    label = "chat"
    verbose_name = "Chat"
