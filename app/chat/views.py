"""Page views: parse the request, call one service or selector, render."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from app.chat import selectors, services
from app.chat.labels import is_valid_label
from app.chat.protocol import SUBPROTOCOL


@require_GET
def lobby(request: HttpRequest) -> HttpResponse:
    """The lobby: start a room, or enter one of the active ones."""
    return render(request, "chat/lobby.html", {"rooms": selectors.rooms_active()})


@require_GET
def new_room(request: HttpRequest) -> HttpResponse:
    """Create a room with a readable random label and go there."""
    room = services.room_create_random()
    return redirect("chat:room", label=room.label)


@require_GET
def room(request: HttpRequest, label: str, *, history_limit: int) -> HttpResponse:
    """A room, created on first visit, with its last ``history_limit`` messages oldest first."""
    if not is_valid_label(label):
        raise Http404("No such room.")
    chat_room = services.room_get_or_create(label=label)
    history = selectors.room_history(room=chat_room, limit=history_limit)
    context = {
        "room": chat_room,
        "messages": history,
        "client_config": {
            "label": chat_room.label,
            "subprotocol": SUBPROTOCOL,
            "lastId": history[-1].seq if history else 0,
        },
    }
    return render(request, "chat/room.html", context)
