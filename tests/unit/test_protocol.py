"""The frames the server sends, and the events they are made from."""

import json
from datetime import UTC, datetime

import msgpack
import pytest

from app.chat import protocol
from app.chat.events import message_from_room_event, room_message_event
from app.chat.messages import ChatMessage
from app.chat.models import Message
from app.chat.protocol import (
    ack_frame,
    dumps,
    error_frame,
    message_frame,
    presence_event_frame,
    presence_frame,
    seed_timestamp,
    stored_message_frame,
    welcome_frame,
)
from app.chat.selectors import room_messages_after
from app.chat.services import messages_store, room_get_or_create

MOMENT = datetime(2026, 11, 5, 18, 4, 9, 123456, tzinfo=UTC)


# ------------------------------------------------------------------ message frames
def test_a_message_frame_has_the_seed_keys_and_more() -> None:
    frame = message_frame(seq=7, handle="ada", message="hi", timestamp=MOMENT, client_id=None)

    assert frame == {
        "type": "message",
        "id": 7,
        "handle": "ada",
        "message": "hi",
        "timestamp": "Nov 5 6:04 PM",
        "time": "2026-11-05T18:04:09.123456+00:00",
    }


def test_a_message_frame_names_the_senders_client_id() -> None:
    frame = message_frame(seq=1, handle="a", message="b", timestamp=MOMENT, client_id="c-1")

    assert frame["client_id"] == "c-1"


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 1, 1, 0, 5, tzinfo=UTC), "Jan 1 12:05 AM"),
        (datetime(2026, 6, 30, 12, 0, tzinfo=UTC), "Jun 30 12:00 PM"),
        (datetime(2026, 11, 25, 6, 14, tzinfo=UTC), "Nov 25 6:14 AM"),
        (datetime(2026, 12, 9, 23, 59, 59, tzinfo=UTC), "Dec 9 11:59 PM"),
    ],
)
def test_the_timestamp_is_in_the_seeds_format(moment: datetime, text: str) -> None:
    assert seed_timestamp(moment) == text
    assert protocol.SEED_TIMESTAMP_FORMAT == "%b %-d %-I:%M %p"


def test_the_time_is_iso_8601_and_parses_back() -> None:
    frame = message_frame(seq=1, handle="a", message="b", timestamp=MOMENT, client_id=None)

    assert datetime.fromisoformat(frame["time"]) == MOMENT


def test_dumps_is_compact_utf8_text_with_html_left_as_text() -> None:
    text = dumps({"message": "<b>😀</b> & é", "id": 1})

    assert text == '{"message":"<b>😀</b> & é","id":1}'
    assert json.loads(text) == {"message": "<b>😀</b> & é", "id": 1}


# ------------------------------------------------------------------ other frames
def test_ack_frame() -> None:
    assert ack_frame(client_id="c-1", seq=9, duplicate=True) == {
        "type": "ack",
        "client_id": "c-1",
        "id": 9,
        "duplicate": True,
    }


def test_error_frame_carries_extra_fields() -> None:
    assert error_frame("rate_limited", "Too many frames.", retry_after=0.5) == {
        "type": "error",
        "code": "rate_limited",
        "detail": "Too many frames.",
        "retry_after": 0.5,
    }


def test_welcome_and_presence_frames() -> None:
    member = {"id": "c1", "handle": "ada", "since": 1.0}

    assert welcome_frame(room="r", connection="c1", last_id=4) == {
        "type": "welcome",
        "room": "r",
        "connection": "c1",
        "last_id": 4,
    }
    assert presence_frame([member]) == {"type": "presence", "members": [member]}
    assert presence_event_frame("join", member) == {"type": "join", "member": member}
    assert presence_event_frame("leave", member) == {"type": "leave", "member": member}


def test_error_frame_names_the_refused_client_id_only_when_there_is_one() -> None:
    assert error_frame("too_long", "x", client_id="c-1")["client_id"] == "c-1"
    assert "client_id" not in error_frame("too_long", "x")


def test_close_codes_are_distinct_and_ones_an_application_may_send() -> None:
    codes = {name: value for name, value in vars(protocol).items() if name.startswith("CLOSE_")}

    assert codes
    assert len(set(codes.values())) == len(codes)
    # RFC 6455 7.4.2: applications send 1000 or 3000-4999 (daphne refuses the rest).
    assert all(code == 1000 or 3000 <= code <= 4999 for code in codes.values()), codes


# ------------------------------------------------------------------ events
def stored_message(**overrides) -> ChatMessage:
    draft = ChatMessage(
        label="r", handle="ada", message="hi <b>", client_id="c-1", reply_channel="x!y"
    )
    return draft.stored_as(3, MOMENT, **overrides)


def frame_from_event(event: dict) -> dict:
    """The frame members receive for a ``room.message`` event."""
    return stored_message_frame(message_from_room_event(event))


def test_the_broadcast_event_carries_the_stored_message() -> None:
    event = room_message_event(stored_message())

    assert {k: v for k, v in event.items() if k != "stored_at"} == {
        "type": "room.message",
        "room": "r",
        "seq": 3,
        "handle": "ada",
        "message": "hi <b>",
        "timestamp": MOMENT.isoformat(),
        "client_id": "c-1",
    }
    assert isinstance(event["stored_at"], float)


def test_events_survive_the_channel_layers_encoding() -> None:
    event = room_message_event(stored_message())

    assert msgpack.unpackb(msgpack.packb(event)) == event


def test_the_frame_from_a_broadcast_is_the_message_frame() -> None:
    frame = frame_from_event(room_message_event(stored_message()))

    assert frame == message_frame(
        seq=3, handle="ada", message="hi <b>", timestamp=MOMENT, client_id="c-1"
    )


def test_a_message_rebuilt_from_a_row_makes_the_same_frame() -> None:
    row = Message(seq=3, handle="ada", message="hi <b>", client_id="c-1", timestamp=MOMENT)

    message = row.as_chat_message("r")

    assert message.label == "r"
    assert stored_message_frame(message) == frame_from_event(room_message_event(stored_message()))


@pytest.mark.django_db
def test_live_and_history_frames_of_a_stored_message_are_identical() -> None:
    room_get_or_create(label="r")
    drafts = [
        ChatMessage(label="r", handle="ada", message="line\none 😀", client_id="c-1"),
        ChatMessage(label="r", handle="bob", message="<i>two</i>"),
    ]

    stored = messages_store(drafts=drafts)
    rows = room_messages_after(label="r", after=0, upto=None, limit=10)

    live = [frame_from_event(room_message_event(item)) for item in stored]
    history = [stored_message_frame(row.as_chat_message("r")) for row in rows]
    assert live == history
    assert [frame["id"] for frame in live] == [1, 2]
    assert "client_id" not in live[1]
