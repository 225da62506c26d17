"""Health, readiness and metrics of real processes started from the Procfile.

The processes here get a Redis of their own (a ``redis-server`` this module
starts and stops) so that stopping it cannot disturb the other tests.
"""

import asyncio
import json
import os
import signal
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.support.chat import connect, create_room, recv_messages, recv_until, send_chat
from tests.support.procfile import RoleProcess, free_port, procfile_lines
from tests.support.redis_server import RedisServer
from tests.support.topology import (
    Topology,
    collectstatic,
    create_database,
    drop_database,
    production_env,
)

READY = {"status": "ok", "checks": {"database": "ok", "redis": "ok", "backlog": "ok"}}
MAX_BACKLOG = 3  # the ops topology's READINESS_MAX_BACKLOG


@dataclass
class OpsTopology:
    """One web (daphne) and one worker, each with its own metrics port, on a private Redis."""

    redis: RedisServer
    web: RoleProcess
    worker: RoleProcess
    web_metrics_url: str
    worker_metrics_url: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def ops(database_server_url: str, tmp_path_factory) -> Iterator[OpsTopology]:
    """Start a private Redis, then release, one worker and one web on it."""
    redis_server = RedisServer(tmp_path_factory.mktemp("ops-redis")).start()
    name = f"parley_ops_{uuid.uuid4().hex[:8]}"
    worker_metrics, web_metrics = free_port(), free_port()
    env = production_env(
        create_database(database_server_url, name),
        redis_server.url,
        READINESS_MAX_BACKLOG=str(MAX_BACKLOG),
    )
    topology = Topology(env)
    try:
        collectstatic(env)  # the room pages need the manifest in production
        topology.release()
        worker = start_role(topology.workers, "ops-worker", "worker", metrics(env, worker_metrics))
        web = start_role(
            topology.webs, "ops-web", "web", metrics(env, web_metrics), port=free_port()
        )
        web.wait_ready()
        yield OpsTopology(
            redis_server,
            web,
            worker,
            f"http://127.0.0.1:{web_metrics}/",
            f"http://127.0.0.1:{worker_metrics}/",
            env,
        )
    finally:
        topology.stop()
        redis_server.stop()
        drop_database(database_server_url, name)


def metrics(env: dict[str, str], port: int) -> dict[str, str]:
    """``env`` with METRICS_PORT set to ``port``."""
    return {**env, "METRICS_PORT": str(port)}


def test_healthz_answers(ops):
    assert get_json(f"{ops.web.url}/healthz") == (200, {"status": "ok"})


def test_readyz_reports_every_check_ok(ops):
    assert get_json(f"{ops.web.url}/readyz") == (200, READY)


def test_metrics_are_off_the_public_port_and_on_the_metrics_port(ops):
    # The Ingress routes the HTTP port: metrics must not answer there.
    assert get_status(f"{ops.web.url}/metrics") == 404
    for url in (ops.web_metrics_url, ops.worker_metrics_url):
        assert ("parley_frames_in_total", frozenset()) in eventually(
            lambda url=url: scrape_if_up(url), f"metrics on {url}"
        )


def test_readiness_and_scrapes_reuse_their_redis_connections(ops):
    """Probes and scrapes every few seconds must not open a Redis connection each."""
    for url in (f"{ops.web.url}/readyz", ops.web_metrics_url, ops.worker_metrics_url):
        urllib.request.urlopen(url, timeout=10).close()  # each process's client is open
    before = connections_received(ops.redis)
    for _ in range(20):
        assert get_json(f"{ops.web.url}/readyz") == (200, READY)
        scrape(ops.web_metrics_url)
        scrape(ops.worker_metrics_url)
    opened = connections_received(ops.redis) - before
    print(f"60 readiness checks and scrapes opened {opened} Redis connection(s)")

    assert opened <= 2, f"60 checks and scrapes opened {opened} Redis connections"


def test_admin_is_off_unless_enabled(ops):
    assert get_status(f"{ops.web.url}/admin/") == 404
    assert get_status(f"{ops.web.url}/admin/login/") == 404


def test_https_pages_get_hsts_and_every_page_a_content_security_policy(ops):
    plain = get_headers(f"{ops.web.url}/")
    https = get_headers(f"{ops.web.url}/", {"X-Forwarded-Proto": "https"})
    host = f"127.0.0.1:{ops.web.port}"

    assert "Strict-Transport-Security" not in plain, "HSTS only over HTTPS"
    assert https["Strict-Transport-Security"] == "max-age=31536000"
    for headers, socket_url in ((plain, f"ws://{host}"), (https, f"wss://{host}")):
        policy = dict(
            directive.strip().split(" ", 1)
            for directive in headers["Content-Security-Policy"].split(";")
        )
        assert policy["script-src"] == "'self'"
        assert policy["connect-src"] == f"'self' {socket_url}"
        assert policy["frame-ancestors"] == "'none'"
        assert policy["object-src"] == "'none'"


async def test_metrics_count_traffic_on_web_and_worker(ops):
    label = create_room(ops.web.url)
    members = [
        await connect(ops.web.ws_url, label),
        await connect(ops.web.ws_url, label),
        await connect(ops.web.ws_url, label, opt_in=True),
    ]
    texts = [f"counted {i}" for i in range(5)]
    try:
        await recv_until(members[2], "presence")
        for text in texts:
            await send_chat(members[0], "metered", text)
        await asyncio.gather(*(recv_messages(m, len(texts)) for m in members))
        web = scrape(ops.web_metrics_url)
    finally:
        await asyncio.gather(*(m.close() for m in members))

    assert sample(web, "parley_websocket_connections", dialect="plain") >= 2
    assert sample(web, "parley_websocket_connections", dialect="parley") >= 1
    assert sample(web, "parley_frames_in_total") >= len(texts)
    assert sample(web, "parley_frames_out_total") >= len(texts) * len(members)
    assert sample(web, "parley_broadcast_latency_seconds_count") >= len(texts)
    worker = eventually(lambda: scrape_if_up(ops.worker_metrics_url), "worker metrics")
    assert sample(worker, "parley_messages_stored_total") >= len(texts)
    assert sample(worker, "parley_persist_latency_seconds_count") >= len(texts)
    assert sample(worker, "parley_persist_queue_depth") >= 0  # present: Redis is readable
    eventually(lambda: connections(ops) == 0, "the connections gauge to drop to 0")
    ops.web.assert_running()
    ops.worker.assert_running()


async def test_readyz_turns_off_while_messages_wait_for_a_worker(ops):
    label = create_room(ops.web.url)
    senders = [await connect(ops.web.ws_url, label) for _ in range(MAX_BACKLOG + 1)]
    os.killpg(ops.worker.process.pid, signal.SIGSTOP)
    try:
        for n, sender in enumerate(senders):  # one each: a socket waits for its ack
            await send_chat(sender, "queued", f"waiting {n}")
        backlog = wait_for_status(f"{ops.web.url}/readyz", 503)
    finally:
        os.killpg(ops.worker.process.pid, signal.SIGCONT)
    caught_up = wait_for_status(f"{ops.web.url}/readyz", 200)
    await asyncio.gather(*(sender.close() for sender in senders))

    assert backlog["status"] == "unavailable"
    waiting = backlog["checks"]["backlog"]  # resends after the ack timeout may add to it
    assert waiting.endswith(" messages wait for a worker")
    assert int(waiting.removeprefix("error: ").split()[0]) > MAX_BACKLOG
    assert (backlog["checks"]["database"], backlog["checks"]["redis"]) == ("ok", "ok")
    assert caught_up == READY


async def test_readyz_follows_redis_down_and_back(ops):
    ops.redis.stop()
    try:
        down = wait_for_status(f"{ops.web.url}/readyz", 503)
    finally:
        ops.redis.start()
    assert down["status"] == "unavailable"
    assert down["checks"]["database"] == "ok"
    assert down["checks"]["redis"].startswith("error")
    assert wait_for_status(f"{ops.web.url}/readyz", 200) == READY
    assert get_json(f"{ops.web.url}/healthz") == (200, {"status": "ok"})
    # Ready again means it: a message goes through the new Redis to storage and back.
    label = create_room(ops.web.url)
    member = await connect(ops.web.ws_url, label)
    try:
        await send_chat(member, "back", "Redis is back")
        [frame] = await recv_messages(member, 1, timeout=60)
    except TimeoutError:
        ops.worker.assert_running()  # the likeliest cause, with the worker's log
        raise
    finally:
        await member.close()
    assert (frame["id"], frame["message"]) == (1, "Redis is back")
    ops.web.assert_running()
    ops.worker.assert_running()


def test_readyz_names_an_unreachable_database(ops):
    closed = f"postgres://parley@127.0.0.1:{free_port()}/parley"
    env = {**ops.env, "DATABASE_URL": closed}
    web = RoleProcess("ops-web-nodb", procfile_lines()["web"], env, port=free_port()).start()
    try:
        down = wait_for_status(f"{web.url}/readyz", 503, process=web)
        assert get_json(f"{web.url}/healthz") == (200, {"status": "ok"})
        web.assert_running()
    finally:
        web.stop()
    assert down["status"] == "unavailable"
    assert down["checks"]["database"].startswith("error")
    assert down["checks"]["redis"] == "ok"


# ------------------------------------------------------------------ helpers
def start_role(
    started: list[RoleProcess], name: str, role: str, env: dict[str, str], port: int | None = None
) -> RoleProcess:
    """Start the Procfile's ``role`` line as ``name`` and record it in ``started``."""
    process = RoleProcess(name, procfile_lines()[role], env, port=port)
    started.append(process)
    return process.start()


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    """GET ``url``; return its status and JSON body, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


def get_status(url: str) -> int:
    """GET ``url``; return its status code, without following redirects."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        with error:
            return error.code


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a redirect as the answer instead of following it."""

    def redirect_request(self, *args, **kwargs):
        """Follow nothing."""
        return None


def get_headers(url: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """GET ``url`` (expecting 200); return its response headers."""
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return dict(response.headers)


def connections_received(server: RedisServer) -> int:
    """Connections the Redis server has accepted since it started."""
    client = redis.Redis(port=server.port, socket_timeout=5)
    try:
        return int(client.info("stats")["total_connections_received"])
    finally:
        client.close()


def wait_for_status(
    url: str, status: int, *, process: RoleProcess | None = None, timeout: float = 60.0
) -> dict[str, Any]:
    """Poll ``url`` until it answers ``status``; return that answer's body."""
    answers: list[tuple[int, dict[str, Any]]] = []

    def answered() -> bool:
        if process is not None:
            process.assert_running()
        try:
            answers.append(get_json(url))
        except OSError:  # not listening yet
            return False
        return answers[-1][0] == status

    eventually(answered, f"{url} to answer {status} (last: {answers[-1:]})", timeout=timeout)
    return answers[-1][1]


def eventually(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Call ``check`` until it returns something truthy; return that (a failure guard only)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


Samples = dict[tuple[str, frozenset], float]


def scrape(url: str) -> Samples:
    """Fetch a Prometheus endpoint; return its samples keyed by name and labels."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape_if_up(url: str) -> Samples | None:
    """``scrape``, or None while nothing listens on ``url`` yet."""
    try:
        return scrape(url)
    except OSError:
        return None


def sample(samples: Samples, name: str, **labels: str) -> float:
    """The value of one sample; fail naming it when it is absent."""
    key = (name, frozenset(labels.items()))
    assert key in samples, f"{name}{labels} not exported; have {sorted(n for n, _ in samples)}"
    return samples[key]


def connections(ops: OpsTopology) -> float:
    """Open chat sockets on the web process, both dialects, as its metrics say."""
    samples = scrape(ops.web_metrics_url)
    return sum(v for (name, _), v in samples.items() if name == "parley_websocket_connections")
