"""The split topology on this machine: release, web (daphne) servers and workers."""

import os
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tests.support.procfile import ROOT, VENV_BIN, RoleProcess, free_port, procfile_lines


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def with_redis_db(url: str, index: int) -> str:
    """``url`` pointing at Redis database ``index`` instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{index}"))


def create_database(server_url: str, name: str) -> str:
    """Create an empty database on the server of ``server_url``; return its URL."""
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop a database made by ``create_database``."""
    with psycopg.connect(with_database(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def production_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment a deployed Parley process gets (production settings)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PARLEY_", "PYTEST_"))
    }
    env.update(
        PATH=f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}",
        DJANGO_SETTINGS_MODULE="app.config.settings.production",
        SECRET_KEY=uuid.uuid4().hex * 2,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_COOKIES="false",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class Topology:
    """Procfile processes sharing one database and one Redis."""

    env: dict[str, str]
    prefix: str = ""  # names this topology's logs apart from the others'
    webs: list[RoleProcess] = field(default_factory=list)
    workers: list[RoleProcess] = field(default_factory=list)

    def release(self) -> None:
        """Run the Procfile's release line (migrations); fail loudly if it fails."""
        release = RoleProcess(f"{self.prefix}release", procfile_lines()["release"], self.env)
        code = release.run()
        assert code == 0, f"release failed ({code}):\n{release.log_tail()}"

    def start_web(self) -> RoleProcess:
        """Start one more ``web`` process on a free port and wait for readiness."""
        name = f"{self.prefix}web.{len(self.webs) + 1}"
        web = RoleProcess(name, procfile_lines()["web"], self.env, port=free_port()).start()
        self.webs.append(web)
        web.wait_ready()
        return web

    def start_worker(self) -> RoleProcess:
        """Start one more ``worker`` process."""
        name = f"{self.prefix}worker.{len(self.workers) + 1}"
        worker = RoleProcess(name, procfile_lines()["worker"], self.env).start()
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL)."""
        for process in [*self.webs, *self.workers]:
            process.stop()


def collectstatic(env: dict[str, str]) -> None:
    """Build hashed, compressed static files, as the image build and Heroku do."""
    command = f"{VENV_BIN}/python manage.py collectstatic --noinput -v0"
    process = RoleProcess("collectstatic", command, env)
    code = process.run()
    assert code == 0, f"collectstatic failed:\n{process.log_tail()}"
    assert (ROOT / "staticfiles" / "staticfiles.json").exists()
