"""The channel layer's messages: every event Parley's processes send each other, built and parsed.

* ``message.persist`` (interface server -> persist channel): one message to store.
* ``message.persist_many``: the unacknowledged messages of a closed socket, in order.
* ``room.message`` (worker -> a room's group): a stored message, ``timestamp`` in ISO 8601
  and ``stored_at`` in epoch seconds (for the broadcast latency metric).
* ``room.presence`` (hub -> a room's group): a member joined or left.
* ``chat.ack`` (worker -> the sender's channel): a message is durably stored.

Every field is a plain msgpack type, so any process of any version can read them.
"""

import time
from datetime import datetime
from typing import Any

from app.chat.messages import ChatMessage

Event = dict[str, Any]
MemberInfo = dict[str, Any]


def _message_fields(message: ChatMessage) -> Event:
    """What every event about one message carries of it."""
    return {
        "room": message.label,
        "handle": message.handle,
        "message": message.message,
        "client_id": message.client_id,
    }


def room_group(label: str) -> str:
    """The channel-layer group of a room's hubs."""
    return f"room.{label}"


# ------------------------------------------------------------------ to the workers
def persist_event(message: ChatMessage) -> Event:
    """The event an interface server sends to the persist channel."""
    return {
        "type": "message.persist",
        **_message_fields(message),
        "reply_channel": message.reply_channel,
        "received_at": message.received_at,
    }


def persist_many_event(messages: list[ChatMessage]) -> Event:
    """The unacknowledged messages of a closed connection, in one event.

    One event, so one worker stores them in the order they were sent; with
    nobody left to hear an ack, none is asked for.
    """
    return {
        "type": "message.persist_many",
        "drafts": [{**persist_event(message), "reply_channel": None} for message in messages],
    }


def message_from_persist_event(event: Event) -> ChatMessage:
    """The message a ``message.persist`` event (or an item of ``persist_many``) carries."""
    return ChatMessage(
        label=event["room"],
        handle=event["handle"],
        message=event["message"],
        client_id=event.get("client_id"),
        reply_channel=event.get("reply_channel"),
        received_at=event.get("received_at", 0.0),
    )


# ------------------------------------------------------------------ to the hubs
def room_message_event(stored: ChatMessage) -> Event:
    """The broadcast a worker sends for a message it just stored."""
    assert stored.timestamp is not None, "only a stored message is broadcast"
    return {
        "type": "room.message",
        **_message_fields(stored),
        "seq": stored.seq,
        "timestamp": stored.timestamp.isoformat(),
        "stored_at": time.time(),
    }


def message_from_room_event(event: Event) -> ChatMessage:
    """The stored message a ``room.message`` event carries."""
    return ChatMessage(
        label=event["room"],
        handle=event["handle"],
        message=event["message"],
        client_id=event["client_id"],
        seq=event["seq"],
        timestamp=datetime.fromisoformat(event["timestamp"]),
    )


def presence_event(label: str, change: str, member: MemberInfo) -> Event:
    """A member of ``label`` joined or left (``change`` is ``join`` or ``leave``)."""
    return {"type": "room.presence", "room": label, "event": change, "member": member}


# ------------------------------------------------------------------ to a sender
def ack_event(stored: ChatMessage) -> Event:
    """Tells the sender's consumer its message is stored (or was, as a duplicate)."""
    return {
        "type": "chat.ack",
        "client_id": stored.client_id,
        "seq": stored.seq,
        "duplicate": stored.duplicate,
    }
