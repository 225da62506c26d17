"""Pages: the lobby, a new room, and each room."""

from django.urls import path, register_converter

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

app_name = "chat"
urlpatterns = [
    path("", views.lobby, name="lobby"),
    path("new/", views.new_room, name="new_room"),
    path("<label:label>/", views.room, name="room"),
]
