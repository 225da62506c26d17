"""The Content-Security-Policy header on every page (``settings.CONTENT_SECURITY_POLICY``).

Django 5.2 has no CSP of its own. The policy is a string; ``{websocket}`` in it
stands for the page's own WebSocket origin (``wss://host`` over HTTPS, else
``ws://host``), because older browsers do not count ``ws:``/``wss:`` as
``'self'``. An empty policy sends no header.
"""

from collections.abc import Callable

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware

HEADER = "Content-Security-Policy"
WEBSOCKET = "{websocket}"


@sync_and_async_middleware
def content_security_policy(get_response: Callable) -> Callable:
    """Wrap ``get_response`` so that HTML responses carry the policy (sync or async)."""
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            return with_policy(request, await get_response(request))

    else:

        def middleware(request: HttpRequest) -> HttpResponse:
            return with_policy(request, get_response(request))

    return middleware


def with_policy(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Add the policy to an HTML ``response`` that has none yet."""
    policy = settings.CONTENT_SECURITY_POLICY
    is_html = response.get("Content-Type", "").startswith("text/html")
    if policy and is_html and HEADER not in response:
        response[HEADER] = policy.replace(WEBSOCKET, websocket_origin(request)).strip()
    return response


def websocket_origin(request: HttpRequest) -> str:
    """``wss://host`` or ``ws://host`` of the request; empty for a host Django refused."""
    try:
        host = request.get_host()
    except DisallowedHost:
        return ""
    return f"{'wss' if request.is_secure() else 'ws'}://{host}"
