"""What a load-test message carries, and the URLs and frames around it.

A load-test message is a plain chat message whose text starts with a marker,
the message's key (``<sender>:<seq>``) and the wall-clock time it was sent::

    lt 41873.2:17 1767225600.123456 xxxxxxxx

so every member that receives it can tell which message it is and how long
it took, whatever else the server adds to the frame. Text without the marker
(people chatting in the same room) is ignored.
"""

import struct
from urllib.parse import urlsplit, urlunsplit

MARKER = "lt"
CLOSE_NO_STATUS = 1005  # RFC 6455: a close frame without a code
CLOSE_ABNORMAL = 1006  # RFC 6455: the connection dropped without a close frame


def compose(key: str, sent_at: float, size: int = 0) -> str:
    """Message text for ``key`` sent at ``sent_at``, padded to ``size`` characters."""
    text = f"{MARKER} {key} {sent_at:.6f}"
    if len(text) + 1 < size:
        text = f"{text} {'x' * (size - len(text) - 1)}"
    return text


def parse(text: object) -> tuple[str, float] | None:
    """``(key, sent_at)`` of a load-test message's text, or ``None`` for any other text."""
    if not isinstance(text, str) or not text.startswith(MARKER + " "):
        return None
    parts = text.split(" ", 3)
    if len(parts) < 3:
        return None
    try:
        return parts[1], float(parts[2])
    except ValueError:
        return None


def ws_base(http_url: str) -> str:
    """``ws://host[:port][/prefix]`` for an ``http(s)://`` base (a ws(s) URL stays as it is)."""
    parts = urlsplit(http_url.strip())
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise ValueError(f"not an http(s) or ws(s) URL: {http_url!r}")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def ws_bases(hosts: str, default_http_url: str) -> list[str]:
    """The WebSocket bases named by ``--ws-host`` (comma-separated), or the one of ``--host``."""
    named = [host for host in (part.strip() for part in hosts.split(",")) if host]
    return [ws_base(host) for host in named] or [ws_base(default_http_url)]


def close_code(payload: bytes) -> int:
    """The status code of a close frame's payload (1005 when it has none)."""
    if len(payload) < 2:
        return CLOSE_NO_STATUS
    return struct.unpack("!H", payload[:2])[0]
