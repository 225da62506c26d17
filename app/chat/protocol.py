"""The WebSocket protocol: close codes, the frames clients send (parsed) and those they receive.

Two dialects share ``/chat/<label>/``. The seed's plain one (no subprotocol):
clients send ``{"handle", "message"}`` and receive only chat messages. The
opt-in one (subprotocol ``parley.v1``) adds ``type``, acks, errors, presence
and catch-up. Every rule has an error code listed in docs/protocol.md, which
is the reference. A frame that parses is safe to store: bounded, valid UTF-8,
free of NUL and control characters that Postgres or a terminal would choke on.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from app.chat.exceptions import (
    BinaryFrame,
    ChatError,
    Flooding,
    FrameTooLarge,
    GoingAway,
    InvalidFrame,
    InvalidQuery,
    OutboxFull,
    RateLimited,
    RoomNotFound,
    ServerFull,
    TooManySockets,
    Unavailable,
)
from app.chat.messages import ChatMessage

SUBPROTOCOL = "parley.v1"

# Close codes: 4000 + the nearest HTTP status. Daphne (autobahn) lets an application
# send only 1000 and 3000-4999, so RFC 6455's 1003, 1009 and 1013 cannot be used.
CLOSE_INVALID_FRAME = 4400  # a plain client's frame broke the protocol
CLOSE_ROOM_NOT_FOUND = 4404  # unknown or invalid room label
CLOSE_SLOW_READER = 4408  # the socket left too much unread (the server timed out on it)
CLOSE_TOO_LARGE = 4413  # a frame over the size limit
CLOSE_UNSUPPORTED_DATA = 4415  # a binary frame
CLOSE_RATE_LIMITED = 4429  # a plain client flooding, or an opted-in one ignoring rate_limited
# Messages cannot be stored fast enough, the join failed, or the server is stopping. (The
# RFC's 1001 and 1012 would say the last, but daphne refuses them from an application.)
CLOSE_TRY_AGAIN_LATER = 4503

SEED_TIMESTAMP_FORMAT = "%b %-d %-I:%M %p"
PLAIN_KEYS = frozenset({"handle", "message"})
OPT_IN_KEYS = PLAIN_KEYS | {"type", "client_id"}
CLIENT_ID_RE = re.compile(r"\A[A-Za-z0-9._:-]{1,64}\Z")
# C0 controls, DEL and C1 controls; a message may still hold tabs and line breaks.
HANDLE_FORBIDDEN_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MESSAGE_FORBIDDEN_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MAX_AFTER_DIGITS = 18


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits on a client frame and its fields."""

    max_frame_bytes: int = 32768
    max_handle_chars: int = 32
    max_message_chars: int = 2000


@dataclass(frozen=True, slots=True)
class ConnectQuery:
    """What an opted-in client asks for when it connects (``?after=N&handle=NAME``)."""

    after: int | None = None
    handle: str | None = None


# ------------------------------------------------------------------ what clients send
def parse_frame(text: str, *, label: str, opted_in: bool, limits: Limits) -> ChatMessage:
    """Parse one text frame sent to room ``label``, raising ``InvalidFrame`` with the rule broken.

    An opted-in frame's valid ``client_id`` rides on the error, so the client
    learns which of its messages was refused.
    """
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > limits.max_frame_bytes:
        raise FrameTooLarge(size, limits.max_frame_bytes)
    data = _load_object(text)
    client_id = _client_id(data) if opted_in else None
    try:
        if opted_in and data.get("type", "message") != "message":
            raise InvalidFrame("unknown_type", f"Unknown frame type {data['type']!r}.")
        _check_keys(data, OPT_IN_KEYS if opted_in else PLAIN_KEYS)
        handle = _text_field(data, "handle", limits.max_handle_chars, HANDLE_FORBIDDEN_RE)
        message = _text_field(data, "message", limits.max_message_chars, MESSAGE_FORBIDDEN_RE)
    except InvalidFrame as error:
        error.client_id = client_id
        raise
    return ChatMessage(label=label, handle=handle, message=message, client_id=client_id)


def parse_handle(value: str, *, limits: Limits) -> str:
    """Validate a handle given on its own (an opted-in client's ``?handle=``)."""
    return _text_field({"handle": value}, "handle", limits.max_handle_chars, HANDLE_FORBIDDEN_RE)


def parse_query(query_string: bytes, *, limits: Limits) -> ConnectQuery:
    """Parse an opted-in client's ``?after=N&handle=NAME``; raise ``InvalidQuery`` if bad."""
    query = parse_qs(query_string.decode("latin-1"))
    handle = query.get("handle", [None])[0]
    if handle is not None:
        try:
            handle = parse_handle(handle, limits=limits)
        except InvalidFrame as error:
            raise InvalidQuery(f"handle: {error.detail}") from None
    after = query.get("after", [None])[0]
    if after is None:
        return ConnectQuery(handle=handle)
    if not after.isdigit() or len(after) > MAX_AFTER_DIGITS:
        raise InvalidQuery("after must be a message id (0 or more).")
    return ConnectQuery(after=int(after), handle=handle)


def _load_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
        raise InvalidFrame("invalid_json", "Frame is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidFrame("not_an_object", "Frame must be a JSON object.")
    return data


def _check_keys(data: dict[str, Any], allowed: frozenset[str]) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise InvalidFrame("unknown_field", f"Unknown field(s): {', '.join(extra)}.")
    missing = sorted(PLAIN_KEYS - set(data))
    if missing:
        raise InvalidFrame("missing_field", f"Missing field(s): {', '.join(missing)}.")


def _text_field(data: dict[str, Any], name: str, max_chars: int, forbidden: re.Pattern) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise InvalidFrame("invalid_type", f"Field {name!r} must be a string.")
    if not value.strip():
        raise InvalidFrame("empty_field", f"Field {name!r} must not be empty.")
    if len(value) > max_chars:
        raise InvalidFrame("too_long", f"Field {name!r} is over {max_chars} characters.")
    if forbidden.search(value) or not _is_utf8(value):
        raise InvalidFrame("invalid_text", f"Field {name!r} holds characters not allowed.")
    return value


def _client_id(data: dict[str, Any]) -> str | None:
    client_id = data.get("client_id")
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not CLIENT_ID_RE.match(client_id):
        raise InvalidFrame("invalid_client_id", "client_id must be 1-64 of A-Z a-z 0-9 . _ : -.")
    return client_id


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape
        return False
    return True


# ------------------------------------------------------------------ what clients receive
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


def stored_message_frame(stored: ChatMessage) -> dict[str, Any]:
    """The message frame of a stored message, live or from history alike."""
    assert stored.seq is not None, "not stored yet"
    assert stored.timestamp is not None, "not stored yet"
    return message_frame(
        seq=stored.seq,
        handle=stored.handle,
        message=stored.message,
        timestamp=stored.timestamp,
        client_id=stored.client_id,
    )


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


def truncated_frame(*, after: int, resumes_after: int) -> dict[str, Any]:
    """Catch-up skips the messages after ``after`` up to ``resumes_after``."""
    return {"type": "truncated", "after": after, "resumes_after": resumes_after}


# ------------------------------------------------------------------ answering bad input
# Errors after which the connection cannot go on, in either dialect.
_FATAL_CLOSE_CODES: dict[type[ChatError], int] = {
    BinaryFrame: CLOSE_UNSUPPORTED_DATA,
    FrameTooLarge: CLOSE_TOO_LARGE,
    RoomNotFound: CLOSE_ROOM_NOT_FOUND,
    InvalidQuery: CLOSE_INVALID_FRAME,
    Flooding: CLOSE_RATE_LIMITED,
    Unavailable: CLOSE_TRY_AGAIN_LATER,
    GoingAway: CLOSE_TRY_AGAIN_LATER,
    ServerFull: CLOSE_TRY_AGAIN_LATER,
    TooManySockets: CLOSE_RATE_LIMITED,
}


def close_code_for(error: ChatError, *, opted_in: bool) -> int | None:
    """The code to close the socket with after ``error``, or None to keep it open.

    Opted-in clients hear an error frame and stay connected unless the error
    is fatal; plain clients cannot hear one, so any error closes theirs.
    """
    for kind, code in _FATAL_CLOSE_CODES.items():
        if isinstance(error, kind):
            return code
    if opted_in:
        return None
    return CLOSE_TRY_AGAIN_LATER if isinstance(error, OutboxFull) else CLOSE_INVALID_FRAME


def error_frame_for(error: ChatError, *, close: int | None) -> dict[str, Any]:
    """The error frame an opted-in client receives for ``error``."""
    extra: dict[str, Any] = {}
    if close is not None:
        extra["close"] = close
    elif isinstance(error, RateLimited):
        extra["retry_after"] = round(error.retry_after, 3)
    return error_frame(error.code, error.detail, client_id=error.client_id, **extra)
