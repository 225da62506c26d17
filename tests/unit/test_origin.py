"""The production origin check on WebSocket handshakes."""

from urllib.parse import urlparse

import pytest
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from app.config.origin import BrowserOriginValidator, origin_checked
from app.config.routing import build_application

ALLOWED = ["chat.example.com", ".parley.test", "127.0.0.1"]


class Accepting(AsyncWebsocketConsumer):
    """Accepts every handshake that reaches it."""

    async def connect(self) -> None:
        await self.accept()


async def handshake(application, origin: bytes | None) -> bool:
    """Whether a handshake with ``origin`` (or none) is accepted."""
    headers = [] if origin is None else [(b"origin", origin)]
    communicator = WebsocketCommunicator(application, "/chat/room/", headers=headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.fixture
def validator() -> BrowserOriginValidator:
    return BrowserOriginValidator(Accepting.as_asgi(), ALLOWED)


async def test_a_client_sending_no_origin_is_admitted(validator) -> None:
    assert await handshake(validator, None) is True


@pytest.mark.parametrize(
    "origin",
    [
        b"https://chat.example.com",
        b"http://chat.example.com:8000",
        b"https://parley.test",
        b"https://eu.parley.test",
        b"http://127.0.0.1:8000",
    ],
)
async def test_a_browser_on_an_allowed_host_is_admitted(validator, origin: bytes) -> None:
    assert await handshake(validator, origin) is True


@pytest.mark.parametrize(
    "origin",
    [
        b"https://evil.example",
        b"https://chat.example.com.evil.example",
        b"https://notparley.test",
        b"https://example.com",
        b"null",
        b"",
        b"file://",
    ],
)
async def test_a_browser_on_another_origin_is_refused(validator, origin: bytes) -> None:
    assert await handshake(validator, origin) is False


@pytest.mark.parametrize("origin", [b"http://[::1", b"https://[chat.example.com"])
async def test_a_malformed_origin_is_refused_not_an_error(validator, origin: bytes) -> None:
    assert await handshake(validator, origin) is False


def test_valid_origin_on_parsed_origins() -> None:
    validator = BrowserOriginValidator(None, ALLOWED)

    assert validator.valid_origin(None) is True
    assert validator.valid_origin(urlparse("https://chat.example.com")) is True
    assert validator.valid_origin(urlparse("https://elsewhere.example")) is False


async def test_origin_checked_uses_allowed_hosts(settings) -> None:
    settings.ALLOWED_HOSTS = ["only.example.com"]

    application = origin_checked(Accepting.as_asgi())

    assert await handshake(application, b"https://only.example.com") is True
    assert await handshake(application, b"https://chat.example.com") is False
    assert await handshake(application, None) is True


@pytest.mark.parametrize("check", [True, False])
def test_the_websocket_router_is_wrapped_only_where_the_check_is_on(settings, check: bool) -> None:
    settings.WEBSOCKET_CHECK_ORIGIN = check

    application = build_application(http_app=None)

    websocket_app = application.application_mapping["websocket"]
    assert isinstance(websocket_app, BrowserOriginValidator) is check
    assert isinstance(websocket_app, URLRouter) is not check
