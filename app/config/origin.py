"""The WebSocket origin check used in production."""

from urllib.parse import urlparse

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings


class BrowserOriginValidator(OriginValidator):
    """Refuses browsers on other origins; admits clients that send no Origin at all.

    Cross-site WebSocket hijacking needs a browser, and browsers always send
    ``Origin``; command-line clients, load generators and the smoke test send
    none and are admitted. A refused handshake is answered with HTTP 403.
    """

    async def __call__(self, scope, receive, send):
        """Refuse a malformed Origin (``http://[::1``) with 403, not channels' 500."""
        if not all(_parses(value) for name, value in scope.get("headers", []) if name == b"origin"):
            return await WebsocketDenier()(scope, receive, send)
        return await super().__call__(scope, receive, send)

    def valid_origin(self, parsed_origin) -> bool:
        """Admit a missing Origin, else match it against ALLOWED_HOSTS."""
        return parsed_origin is None or super().valid_origin(parsed_origin)


def origin_checked(application):
    """Wrap ``application`` in the origin check against ``ALLOWED_HOSTS``."""
    return BrowserOriginValidator(application, settings.ALLOWED_HOSTS)


def _parses(origin: bytes) -> bool:
    try:
        urlparse(origin.decode("latin1"))
    except ValueError:
        return False
    return True
