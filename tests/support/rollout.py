"""A rolling restart as Kubernetes runs one, on Procfile processes; and Redis's room groups, read.

One process at a time: start its replacement, wait until the replacement is
ready (``/readyz`` for an interface server, the metrics port for a worker, as
the chart's probes), take the old server out of the ready set (a Service's
endpoints), then SIGTERM the old process and wait for it to exit.
"""

import asyncio
import random
import signal
import time

import redis

from tests.support.chat import connect, create_room, recv_until
from tests.support.procfile import RoleProcess, free_port, procfile_lines
from tests.support.resending_client import Chooser, ResendingClient
from tests.support.topology import Topology

HANG_GUARD = 90.0  # seconds: only bounds a hang
GROUP_KEYS = "parley:group:*"  # channels-redis' group sets, under Parley's layer prefix


class ReadyServers:
    """The interface servers a load balancer sends new sockets to now: the ready ones."""

    def __init__(self, webs: list[RoleProcess]) -> None:
        self.bases = [web.ws_url for web in webs]

    def add(self, web: RoleProcess) -> None:
        """``web`` passed its readiness probe."""
        self.bases.append(web.ws_url)

    def remove(self, web: RoleProcess) -> None:
        """``web`` is terminating: no new sockets go there."""
        self.bases.remove(web.ws_url)

    def chooser(self, index: int) -> Chooser:
        """Client ``index``'s choice: a server by turn at first, then another ready one."""

        def choose(last: str | None) -> str:
            if last is None:
                return self.bases[index % len(self.bases)]
            others = [base for base in self.bases if base != last]
            return random.choice(others or self.bases)

        return choose


def start_ready_worker(topology: Topology) -> RoleProcess:
    """Start one more ``worker`` with its metrics port, and wait until that port answers."""
    port = free_port()
    env = {**topology.env, "METRICS_PORT": str(port)}
    name = f"{topology.prefix}worker.{len(topology.workers) + 1}"
    worker = RoleProcess(name, procfile_lines()["worker"], env, port=port).start()
    topology.workers.append(worker)
    worker.wait_ready("/metrics")
    return worker


def terminate(process: RoleProcess) -> int | None:
    """SIGTERM ``process`` and wait for it to exit (SIGKILL only past the hang guard)."""
    return process.stop(signal.SIGTERM, timeout=HANG_GUARD)


def room_groups(layer: redis.Redis) -> dict[str, set[str]]:
    """Every channel-layer group in Redis and the channels that are members of it."""
    return {key: set(layer.zrange(key, 0, -1)) for key in layer.scan_iter(GROUP_KEYS)}


def zombie_memberships(layer: redis.Redis, live: set[str]) -> dict[str, set[str]]:
    """Memberships of channels that belong to no live interface server, by group."""
    found = {key: members - live for key, members in room_groups(layer).items()}
    return {key: members for key, members in found.items() if members}


async def hub_channel(web: RoleProcess, layer: redis.Redis) -> str:
    """The channel of ``web``'s hub: the only member of a room nobody else is in."""
    label = await asyncio.to_thread(create_room, web.url)
    probe = await connect(web.ws_url, label, opt_in=True)
    try:
        await recv_until(probe, "welcome", timeout=HANG_GUARD)  # joined: its hub is in the group
        (channel,) = layer.zrange(f"parley:group:room.{label}", 0, -1)
    finally:
        await probe.close()
    return channel


async def all_back(clients: list[ResendingClient], servers: ReadyServers) -> float:
    """Wait until every client is in its room on a ready server; return when (monotonic)."""
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        if all(c.admitted and c.server in servers.bases for c in clients):
            return time.monotonic()
        await asyncio.sleep(0.05)
    away = [c.name for c in clients if not (c.admitted and c.server in servers.bases)]
    raise AssertionError(f"{len(away)} client(s) not back after {HANG_GUARD} s: {away[:10]}")


def log_lines(processes: list[RoleProcess], text: str) -> int:
    """How many lines of the processes' logs mention ``text``."""
    return sum(
        line.count(text) > 0
        for process in processes
        if process.log_path.exists()
        for line in process.log_path.read_text(errors="replace").splitlines()
    )
