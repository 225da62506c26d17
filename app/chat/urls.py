"""Pages: the lobby, a new room, and each room."""

from django.urls import URLPattern, path, register_converter

from app.chat import views
from app.chat.labels import LABEL_PATTERN


class LabelConverter:
    """Matches room labels; anything else is a 404 before any view runs."""

    regex = LABEL_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(LabelConverter, "label")


def chat_urlpatterns(*, history_limit: int) -> list[URLPattern]:
    """The chat's pages, a room showing its last ``history_limit`` messages (namespace ``chat``)."""
    return [
        path("", views.lobby, name="lobby"),
        path("new/", views.new_room, name="new_room"),
        path("<label:label>/", views.room, {"history_limit": history_limit}, name="room"),
    ]
