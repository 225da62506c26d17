"""Channel-layer events about stored messages, and the frames made from them.

A ``room.message`` event carries a stored message from the worker to every
hub: ``room``, ``seq``, ``handle``, ``message``, ``timestamp`` (ISO 8601),
``client_id`` and ``stored_at`` (epoch seconds, for the latency metric).
"""

import time
from datetime import datetime
from typing import Any

from app.chat.models import Message
from app.chat.protocol import message_frame
from app.chat.services import StoredMessage


def event_from_stored(stored: StoredMessage) -> dict[str, Any]:
    """The broadcast a worker sends for a message it just stored."""
    draft = stored.draft
    return {
        "type": "room.message",
        "room": draft.label,
        "seq": stored.seq,
        "handle": draft.handle,
        "message": draft.message,
        "timestamp": stored.timestamp.isoformat(),
        "client_id": draft.client_id,
        "stored_at": time.time(),
    }


def event_from_row(label: str, row: Message) -> dict[str, Any]:
    """The same event rebuilt from history (gap fills and catch-up)."""
    return {
        "type": "room.message",
        "room": label,
        "seq": row.seq,
        "handle": row.handle,
        "message": row.message,
        "timestamp": row.timestamp.isoformat(),
        "client_id": row.client_id,
    }


def frame_from_event(event: dict[str, Any]) -> dict[str, Any]:
    """The frame members receive for a ``room.message`` event."""
    return message_frame(
        seq=event["seq"],
        handle=event["handle"],
        message=event["message"],
        timestamp=datetime.fromisoformat(event["timestamp"]),
        client_id=event["client_id"],
    )
