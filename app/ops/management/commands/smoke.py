"""Round-trip one chat message: the deploy smoke test and the `helm test` pod."""

import json
import time
import uuid
from urllib.parse import urlsplit
from urllib.request import urlopen

from django.core.management.base import BaseCommand, CommandError
from websockets.sync.client import connect


class Command(BaseCommand):
    """Create a room over HTTP, send a message over its WebSocket, wait for it back."""

    help = "Round-trip a chat message through a running Parley (exit 0 on success)."

    def add_arguments(self, parser):
        """Where Parley is."""
        parser.add_argument("--base-url", required=True, help="Pages, e.g. http://parley-web:8000")
        parser.add_argument("--ws-url", help="Interface servers; default: the base URL as ws(s)")
        parser.add_argument("--timeout", type=float, default=10.0)

    def handle(self, *args, **options):
        """Run the round trip."""
        base = options["base_url"].rstrip("/")
        ws_base = (options["ws_url"] or base.replace("http", "ws", 1)).rstrip("/")
        label = self._create_room(base, options["timeout"])
        text = f"smoke {uuid.uuid4().hex}"
        started = time.monotonic()
        with connect(f"{ws_base}/chat/{label}/", open_timeout=options["timeout"]) as socket:
            socket.send(json.dumps({"handle": "smoke", "message": text}))
            self._await_echo(socket, text, options["timeout"])
        elapsed = (time.monotonic() - started) * 1000
        self.stdout.write(self.style.SUCCESS(f"ok: round trip in room {label} in {elapsed:.0f} ms"))

    def _create_room(self, base: str, timeout: float) -> str:
        if urlsplit(base).scheme not in ("http", "https"):
            raise CommandError(f"--base-url must be http(s): {base!r}")
        with urlopen(f"{base}/new/", timeout=timeout) as response:  # noqa: S310 (scheme checked)
            return urlsplit(response.url).path.strip("/")

    def _await_echo(self, socket, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            frame = json.loads(socket.recv(timeout=remaining))
            if frame.get("message") == text:
                return
        raise CommandError(f"No echo of the message within {timeout} s")
