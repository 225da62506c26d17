"""Reads against real Postgres: history, catch-up ranges, active rooms."""

from datetime import timedelta

import pytest
from django.utils import timezone

from app.chat.messages import ChatMessage
from app.chat.models import Room
from app.chat.selectors import room_history, room_last_seq, room_messages_after, rooms_active
from app.chat.services import messages_store, room_get_or_create

pytestmark = pytest.mark.django_db


def fill(label: str, count: int) -> Room:
    """A room holding messages ``m1`` .. ``m<count>`` numbered 1 .. count."""
    room = room_get_or_create(label=label)
    drafts = [ChatMessage(label=label, handle="ada", message=f"m{n}") for n in range(1, count + 1)]
    messages_store(drafts=drafts)
    room.refresh_from_db()
    return room


@pytest.fixture
def room() -> Room:
    fill("other", 4)  # a neighbour whose messages must never leak in
    return fill("r", 10)


# ------------------------------------------------------------------ last seq
def test_room_last_seq_is_none_for_an_unknown_room() -> None:
    assert room_last_seq(label="nowhere") is None


def test_room_last_seq_of_a_new_room_is_zero() -> None:
    room_get_or_create(label="fresh")

    assert room_last_seq(label="fresh") == 0


def test_room_last_seq_follows_the_stored_messages(room: Room) -> None:
    assert room_last_seq(label="r") == 10


# ------------------------------------------------------------------ history
def test_history_is_the_last_n_messages_oldest_first(room: Room) -> None:
    history = room_history(room=room, limit=3)

    assert [(row.seq, row.message) for row in history] == [(8, "m8"), (9, "m9"), (10, "m10")]


def test_history_shorter_than_the_limit_is_all_of_it(room: Room) -> None:
    history = room_history(room=room, limit=50)

    assert [row.seq for row in history] == list(range(1, 11))
    assert {row.room_id for row in history} == {room.pk}


def test_history_of_an_empty_room_is_empty() -> None:
    assert room_history(room=room_get_or_create(label="empty"), limit=5) == []


# ------------------------------------------------------------------ catch-up ranges
@pytest.mark.parametrize(
    ("after", "upto", "limit", "expected"),
    [
        (0, None, 100, list(range(1, 11))),
        (3, None, 100, list(range(4, 11))),
        (3, 6, 100, [4, 5, 6]),
        (3, 6, 2, [4, 5]),
        (0, None, 1, [1]),
        (9, None, 100, [10]),
        (10, None, 100, []),
        (50, None, 100, []),
        (5, 5, 100, []),
        (5, 4, 100, []),
        (0, 0, 100, []),
        (8, 50, 100, [9, 10]),
    ],
)
def test_messages_after_returns_after_lt_seq_le_upto_oldest_first_at_most_limit(
    room: Room, after: int, upto: int | None, limit: int, expected: list[int]
) -> None:
    rows = room_messages_after(label="r", after=after, upto=upto, limit=limit)

    assert [row.seq for row in rows] == expected
    assert all(row.message == f"m{row.seq}" and row.room_id == room.pk for row in rows)


def test_messages_after_of_an_unknown_room_is_empty(room: Room) -> None:
    assert room_messages_after(label="nowhere", after=0, upto=None, limit=10) == []


# ------------------------------------------------------------------ active rooms
def set_last_message(label: str, *, ago: timedelta | None) -> None:
    when = None if ago is None else timezone.now() - ago
    Room.objects.update_or_create(label=label, defaults={"last_message_at": when})


def test_active_rooms_are_newest_first() -> None:
    set_last_message("middle", ago=timedelta(hours=2))
    set_last_message("newest", ago=timedelta(minutes=1))
    set_last_message("oldest", ago=timedelta(days=3))

    assert [room.label for room in rooms_active()] == ["newest", "middle", "oldest"]


def test_rooms_without_messages_or_quiet_too_long_are_not_active() -> None:
    set_last_message("silent", ago=None)
    set_last_message("stale", ago=timedelta(days=8))
    set_last_message("recent", ago=timedelta(days=6))

    assert [room.label for room in rooms_active()] == ["recent"]
    assert [room.label for room in rooms_active(within=timedelta(days=30))] == ["recent", "stale"]


def test_active_rooms_are_limited() -> None:
    for minutes in range(1, 8):
        set_last_message(f"room-{minutes}", ago=timedelta(minutes=minutes))

    assert [room.label for room in rooms_active(limit=3)] == ["room-1", "room-2", "room-3"]


def test_storing_a_message_makes_a_room_active() -> None:
    set_last_message("before", ago=timedelta(hours=1))
    fill("chatty", 1)

    assert [room.label for room in rooms_active()] == ["chatty", "before"]
