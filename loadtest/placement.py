"""Room placement: how big the rooms are, and which room and server each user goes to.

The master (or the only process) sizes the rooms when a test starts
(``plan_rooms``); Locust hands its parsed options, hidden ``--plan-*`` ones
included, to its workers. Each process then seats its own users room after
room (``Placement``) and makes each of its rooms once (``RoomBook``).
"""

import itertools
import logging
import math
from dataclasses import dataclass
from typing import Any

import wire
from connection import WebSocketFailure
from gevent.event import AsyncResult
from locust.runners import MasterRunner
from options import fixed_room_labels

# One logger name for the whole load test: it is what Locust prints on each line.
logger = logging.getLogger("parley.loadtest")

ROOM_TIMEOUT = 60.0  # how long a member waits for another member to make their room


class RoomBook:
    """This process's rooms: each is created (or opened) once, by the first member needing it."""

    def __init__(self) -> None:
        self._rooms: dict[Any, AsyncResult] = {}

    def reset(self) -> None:
        """Forget the rooms of the last test."""
        self._rooms = {}

    def get(self, key: Any, make) -> str:
        """The label of room ``key``, calling ``make()`` if nobody has made it yet."""
        result = self._rooms.get(key)
        if result is None:
            result = self._rooms[key] = AsyncResult()
            try:
                result.set(make())
            except Exception as error:
                del self._rooms[key]  # the next member tries again
                result.set_exception(error)
                raise
        return result.get(timeout=ROOM_TIMEOUT)


@dataclass(frozen=True)
class Place:
    """Where one member goes: its room and the interface server it connects to."""

    room: Any  # a local room number (rooms from /new/) or a fixed label
    base: str


class Placement:
    """How this process's users fill rooms: room after room, members spread over the servers."""

    def __init__(self) -> None:
        self.reset(None, 0)

    def reset(self, options, worker_index: int) -> None:
        """Start counting users again, for a new test."""
        self.options = options
        self.worker_index = worker_index
        self.counters = {"sender": itertools.count(), "listener": itertools.count()}

    def place(self, role: str, host: str) -> Place:
        """The place of the next ``role`` user of this process."""
        options = self.options
        senders = max(1, options.senders_per_room)
        per_room = senders if role == "sender" else max(1, options.plan_listeners_per_room)
        number = next(self.counters[role])
        room, slot = divmod(number, per_room)
        bases = wire.ws_bases(options.ws_host, host)
        # A room's senders take the first servers, its listeners carry on round-robin.
        base = bases[(slot if role == "sender" else senders + slot) % len(bases)]
        labels = fixed_room_labels(options)
        if labels:
            # Processes share the fixed labels: process i of n takes rooms i, i + n, ...
            processes = max(1, options.plan_processes)
            return Place(labels[(room * processes + self.worker_index) % len(labels)], base)
        return Place(room, base)


ROOMS = RoomBook()
PLACEMENT = Placement()


def reset(options, worker_index: int) -> None:
    """Called when a test starts: forget the last test's rooms and seats."""
    ROOMS.reset()
    PLACEMENT.reset(options, worker_index)


def room_label(client, room: Any) -> str:
    """The label of ``room``: made with GET /new/ or opened with GET /<label>/, once a process."""
    if isinstance(room, str):
        return ROOMS.get(room, lambda: open_room(client, room))
    return ROOMS.get(room, lambda: create_room(client))


def create_room(client) -> str:
    """GET /new/ with Locust's HTTP ``client`` and return the label it redirected to."""
    response = client.get("/new/", name="/new/")
    response.raise_for_status()
    label = response.url.rstrip("/").rsplit("/", 1)[-1]
    if not label or label == "new":
        raise WebSocketFailure(f"GET /new/ did not redirect to a room: {response.url}")
    return label


def open_room(client, label: str) -> str:
    """GET /<label>/ (creating the room on a first visit) and return the label."""
    client.get(f"/{label}/", name="/[label]/").raise_for_status()
    return label


def plan_rooms(environment) -> tuple[int, int]:
    """Master or only process: size the rooms, and return how many senders and listeners to run.

    Those are the user classes' ``fixed_count``; a listener count of 0 lets
    the listeners take whatever ``-u`` leaves after the senders.
    """
    options = environment.parsed_options
    runner = environment.runner
    rooms = len(fixed_room_labels(options)) or max(1, options.rooms)
    senders_per_room = max(1, options.senders_per_room)
    users = runner.target_user_count
    senders = rooms * senders_per_room
    if options.members_per_room:
        listeners_per_room = max(0, options.members_per_room - senders_per_room)
        # Every class has a fixed count: users beyond rooms x members are not started.
        listeners = rooms * listeners_per_room
        if users != rooms * max(options.members_per_room, senders_per_room):
            logger.warning(
                "-u %d does not fill %d rooms of %d members", users, rooms, options.members_per_room
            )
    else:
        listeners_per_room = math.ceil(max(0, users - senders) / rooms)
        listeners = 0  # the rest of -u
    if users < senders:
        logger.warning("-u %d is fewer than the %d senders", users, senders)
    options.plan_listeners_per_room = listeners_per_room
    options.plan_processes = runner.worker_count if isinstance(runner, MasterRunner) else 1
    logger.info(
        "Parley: %d rooms of %d sender(s) + %d listener(s), %.3g messages/s per sender",
        rooms,
        senders_per_room,
        listeners_per_room,
        options.message_rate,
    )
    return senders, listeners
