"""Shared fixtures: the real Redis and Postgres from the environment, and the topology."""

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.support.fault_report import FaultReport
from tests.support.procfile import ARTIFACTS
from tests.support.topology import (
    Topology,
    collectstatic,
    create_database,
    drop_database,
    production_env,
    with_redis_db,
)


@pytest.fixture(scope="session")
def database_server_url() -> str:
    """Postgres given by DATABASE_URL (make test starts a throwaway one)."""
    return os.environ["DATABASE_URL"]


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Redis given by REDIS_URL (make test starts a throwaway one)."""
    return os.environ["REDIS_URL"]


@pytest.fixture(scope="session", autouse=True)
def _fresh_artifacts() -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir()


def _start_topology(
    database_server_url: str,
    redis_url: str,
    *,
    webs: int,
    workers: int,
    redis_db: int,
    **extra: str,
) -> tuple[Topology, str]:
    name = f"parley_{uuid.uuid4().hex[:8]}"
    layer_redis_url = with_redis_db(redis_url, redis_db)
    redis.Redis.from_url(layer_redis_url).flushdb()
    env = production_env(create_database(database_server_url, name), layer_redis_url, **extra)
    # The shared topology's logs are web.1.log, ...; a private one's carry its database name.
    topology = Topology(env, prefix="" if redis_db == 1 else f"{name}.")
    collectstatic(env)
    topology.release()
    for _ in range(workers):
        topology.start_worker()
    for _ in range(webs):
        topology.start_web()
    return topology, name


@pytest.fixture(scope="session")
def topology(database_server_url: str, redis_url: str) -> Iterator[Topology]:
    """Release, two ``web`` servers and two ``worker``s, exactly as the Procfile runs them.

    Shared by the tests that only read and chat (with the rate limit raised);
    tests that break processes or need other settings use ``make_topology``.
    """
    started, name = _start_topology(
        database_server_url,
        redis_url,
        webs=2,
        workers=2,
        redis_db=1,
        # Tests here send fast on purpose; the rate limit has its own tests.
        PARLEY_RATE_PER_SECOND="1000",
        PARLEY_RATE_BURST="1000",
    )
    yield started
    started.stop()
    drop_database(database_server_url, name)


@pytest.fixture
def make_topology(database_server_url: str, redis_url: str):
    """Build a private topology (its own database and Redis db) for a destructive test."""
    made: list[tuple[Topology, str]] = []

    def make(*, webs: int = 1, workers: int = 1, **extra: str) -> Topology:
        started = _start_topology(
            database_server_url,
            redis_url,
            webs=webs,
            workers=workers,
            redis_db=2 + len(made),
            **extra,
        )
        made.append(started)
        return started[0]

    yield make
    for started, name in made:
        started.stop()
        drop_database(database_server_url, name)


FAULT_REPORT = FaultReport()


@pytest.fixture(scope="session")
def fault_report() -> FaultReport:
    """Where fault tests record their counts (printed as a table at the end of the run)."""
    return FAULT_REPORT


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the fault table, when fault tests ran."""
    if FAULT_REPORT.rows:
        terminalreporter.write_sep("=", "faults injected")
        terminalreporter.write_line(FAULT_REPORT.table())
