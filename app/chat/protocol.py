"""The wire protocol: names, close codes, and the frames the server sends.

Two dialects share ``/chat/<label>/``. The seed's plain one (no subprotocol):
clients send ``{"handle", "message"}`` and receive only chat messages. The
opt-in one (subprotocol ``parley.v1``) adds ``type``, acks, errors, presence
and catch-up. docs/protocol.md is the reference.
"""

import json
from datetime import datetime
from typing import Any

SUBPROTOCOL = "parley.v1"

# Close codes: 4000 + the nearest HTTP status. Daphne (autobahn) lets an application
# send only 1000 and 3000-4999, so RFC 6455's 1003, 1009 and 1013 cannot be used.
CLOSE_INVALID_FRAME = 4400  # a plain client's frame broke the protocol
CLOSE_ROOM_NOT_FOUND = 4404  # unknown or invalid room label
CLOSE_TOO_LARGE = 4413  # a frame over the size limit
CLOSE_UNSUPPORTED_DATA = 4415  # a binary frame
CLOSE_RATE_LIMITED = 4429  # a plain client flooding, or an opted-in one ignoring rate_limited
CLOSE_TRY_AGAIN_LATER = 4503  # a plain client's messages cannot be stored fast enough

SEED_TIMESTAMP_FORMAT = "%b %-d %-I:%M %p"


def dumps(frame: dict[str, Any]) -> str:
    """Encode a frame compactly, as UTF-8-safe JSON text."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def seed_timestamp(moment: datetime) -> str:
    """Format a time as the seed did (``Nov 25 6:14 AM``)."""
    return moment.strftime(SEED_TIMESTAMP_FORMAT)


def message_frame(
    *, seq: int, handle: str, message: str, timestamp: datetime, client_id: str | None
) -> dict[str, Any]:
    """The frame every member receives for one stored message (both dialects)."""
    frame: dict[str, Any] = {
        "type": "message",
        "id": seq,
        "handle": handle,
        "message": message,
        "timestamp": seed_timestamp(timestamp),
        "time": timestamp.isoformat(),
    }
    if client_id is not None:
        frame["client_id"] = client_id
    return frame


def ack_frame(*, client_id: str | None, seq: int, duplicate: bool) -> dict[str, Any]:
    """Tells a sender its message is durably stored as ``seq``."""
    return {"type": "ack", "client_id": client_id, "id": seq, "duplicate": duplicate}


def error_frame(
    code: str, detail: str, *, client_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Tells an opted-in client what was wrong; nothing was stored or sent.

    ``client_id`` names the refused message where it had a valid one.
    """
    frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail, **extra}
    if client_id is not None:
        frame["client_id"] = client_id
    return frame


def welcome_frame(*, room: str, connection: str, last_id: int) -> dict[str, Any]:
    """First frame to an opted-in client: who it is and where the room stands."""
    return {"type": "welcome", "room": room, "connection": connection, "last_id": last_id}


def presence_frame(members: list[dict[str, Any]]) -> dict[str, Any]:
    """The room's members, every server counted."""
    return {"type": "presence", "members": members}


def presence_event_frame(event: str, member: dict[str, Any]) -> dict[str, Any]:
    """One member joined or left (``event`` is ``join`` or ``leave``)."""
    return {"type": event, "member": member}
