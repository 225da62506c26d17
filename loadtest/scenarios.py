"""The users Locust runs: room members who listen, and room members who send.

How many of each a test runs is worked out when it starts
(``placement.plan_rooms``), not by weight.
"""

import itertools
import time

import wire
from fanout import LEDGER
from locust import between, constant_throughput, task
from members import RoomMember


class Listener(RoomMember):
    """A member who reads: stays connected and now and then reloads the room's page."""

    wait_time = between(1, 3)
    role = "listener"

    @task(20)
    def keep_connected(self) -> None:
        """Reconnect if the server dropped the socket."""
        self.ensure_connected()

    @task(1)
    def view_room(self) -> None:
        """Reload the room's page (its history), as people do."""
        if self.label is not None and not self.options.no_page_views:
            self.client.get(f"/{self.label}/", name="/[label]/")


class Sender(RoomMember):
    """A member who writes ``{handle, message}`` at ``--message-rate``, send time in the text."""

    role = "sender"

    def on_start(self) -> None:
        """Called when the user starts: set the pace, then join the room."""
        self.seq = itertools.count(1)
        self.pace = constant_throughput(self.environment.parsed_options.message_rate)
        super().on_start()

    def wait_time(self) -> float:
        """Keep to ``--message-rate`` messages per second."""
        return self.pace(self)

    @task
    def send_message(self) -> None:
        """Send one chat message; every member of the room (this one too) reports it.

        With ``--parley-v1`` the message carries its key as its client id and
        stays with the model until acknowledged: resent after a reconnect.
        """
        if LEDGER.stopping_at is not None or not self.ensure_connected():
            return
        assert self.label is not None
        key = f"{self.uid}:{next(self.seq)}"
        sent_at = time.time()
        self.model.message(wire.compose(key, sent_at, self.options.message_size), key)
        LEDGER.record_send(key, self.label, self.uid, sent_at)
        self.write_pending()

    def dropped(self) -> None:
        """Messages not yet seen stored when the socket dropped may or may not be stored."""
        LEDGER.sender_dropped(self.uid)
