"""Parsing and validating the frames clients send.

Every rule here has an error code listed in docs/protocol.md. A frame that
passes is safe to store: bounded, valid UTF-8, free of NUL and control
characters that Postgres or a terminal would choke on.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

from app.chat.exceptions import FrameTooLarge, InvalidFrame

PLAIN_KEYS = frozenset({"handle", "message"})
OPT_IN_KEYS = PLAIN_KEYS | {"type", "client_id"}
CLIENT_ID_RE = re.compile(r"\A[A-Za-z0-9._:-]{1,64}\Z")
# C0 controls, DEL and C1 controls; a message may still hold tabs and line breaks.
HANDLE_FORBIDDEN_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MESSAGE_FORBIDDEN_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits on a client frame and its fields."""

    max_frame_bytes: int = 32768
    max_handle_chars: int = 32
    max_message_chars: int = 2000


@dataclass(frozen=True, slots=True)
class ChatFrame:
    """A valid chat message from a client."""

    handle: str
    message: str
    client_id: str | None = None


def parse_frame(text: str, *, opted_in: bool, limits: Limits) -> ChatFrame:
    """Parse one text frame, raising ``InvalidFrame`` with the rule it broke.

    An opted-in frame's valid ``client_id`` rides on the error, so the client
    learns which of its messages was refused.
    """
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > limits.max_frame_bytes:
        raise FrameTooLarge(size, limits.max_frame_bytes)
    data = _load_object(text)
    client_id = _client_id(data) if opted_in else None
    try:
        return _chat_frame(data, opted_in=opted_in, limits=limits, client_id=client_id)
    except InvalidFrame as error:
        error.client_id = client_id
        raise


def _chat_frame(
    data: dict[str, Any], *, opted_in: bool, limits: Limits, client_id: str | None
) -> ChatFrame:
    if opted_in and data.get("type", "message") != "message":
        raise InvalidFrame("unknown_type", f"Unknown frame type {data['type']!r}.")
    _check_keys(data, OPT_IN_KEYS if opted_in else PLAIN_KEYS)
    handle = _text_field(data, "handle", limits.max_handle_chars, HANDLE_FORBIDDEN_RE)
    message = _text_field(data, "message", limits.max_message_chars, MESSAGE_FORBIDDEN_RE)
    return ChatFrame(handle=handle, message=message, client_id=client_id)


def parse_handle(value: str, *, limits: Limits) -> str:
    """Validate a handle given on its own (an opted-in client's ``?handle=``)."""
    return _text_field({"handle": value}, "handle", limits.max_handle_chars, HANDLE_FORBIDDEN_RE)


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
