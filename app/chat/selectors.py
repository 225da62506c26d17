"""Reads: rooms, history and the messages a reconnecting client missed."""

from datetime import timedelta

from django.utils import timezone

from app.chat.models import Message, Room


def room_last_seq(*, label: str) -> int | None:
    """Return the room's last sequence number, or None when there is no such room."""
    return Room.objects.filter(label=label).values_list("last_seq", flat=True).first()


def room_history(*, room: Room, limit: int) -> list[Message]:
    """Return the room's last ``limit`` messages, oldest first."""
    newest = list(Message.objects.filter(room=room).order_by("-seq")[:limit])
    newest.reverse()
    return newest


def room_messages_after(*, label: str, after: int, upto: int | None, limit: int) -> list[Message]:
    """Return the room's messages with ``after < seq <= upto``, oldest first, at most ``limit``."""
    rows = Message.objects.filter(room__label=label, seq__gt=after)
    if upto is not None:
        rows = rows.filter(seq__lte=upto)
    return list(rows.order_by("seq")[:limit])


def rooms_active(*, limit: int = 20, within: timedelta = timedelta(days=7)) -> list[Room]:
    """Return the rooms with the most recent messages, newest first."""
    since = timezone.now() - within
    rooms = Room.objects.filter(last_message_at__gte=since).order_by("-last_message_at")
    return list(rooms[:limit])
