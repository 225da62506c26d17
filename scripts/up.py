"""`make up`: Parley's split topology on this machine, from the Procfile, via honcho.

Runs collectstatic and the Procfile's ``release`` line, then starts two
``web`` interface servers (daphne: pages + WebSockets), one ``wsgi`` server
(gunicorn: pages, admin, health, metrics) and two ``worker`` processes, all
with production settings against the Redis and Postgres in REDIS_URL and
DATABASE_URL (`make up` starts throwaway ones when those are unset).
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from honcho.environ import parse_procfile

ROOT = Path(__file__).resolve().parents[1]
BASE_PORT = int(os.environ.get("PORT", "8000"))
FORMATION = {"web": 2, "wsgi": 1, "worker": 2}


def topology_env() -> dict[str, str]:
    """Production settings, made safe to run on a laptop over plain HTTP."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    env.setdefault("DJANGO_SETTINGS_MODULE", "app.config.settings.production")
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    env.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    env.setdefault("SECURE_COOKIES", "false")
    env.setdefault("PARLEY_RATE_BURST", "50")
    for required in ("REDIS_URL", "DATABASE_URL"):
        if not env.get(required):
            sys.exit(f"up: {required} is not set (run `make up`, which provides one)")
    return env


def run_step(title: str, command: str, env: dict[str, str]) -> None:
    """Run one preparation step through the shell, stopping on failure."""
    print(f"up: {title}: {command}", file=sys.stderr, flush=True)
    subprocess.run(["/bin/sh", "-c", command], cwd=ROOT, env=env, check=True)


def banner() -> str:
    """Where each process listens (honcho gives each type a block of 100 ports)."""
    web = [f"http://127.0.0.1:{BASE_PORT + i}/" for i in range(FORMATION["web"])]
    return (
        "\nParley split topology\n"
        f"  interface servers (daphne, pages + /chat/ WebSockets): {'  '.join(web)}\n"
        f"  web (gunicorn: pages, admin, metrics; no WebSockets): "
        f"http://127.0.0.1:{BASE_PORT + 100}/\n"
        f"  workers: {FORMATION['worker']} x `runworker chat.persist`\n"
        "  Open one room on both interface servers to watch messages cross over.\n"
        "  Ctrl-C stops everything.\n"
    )


def main() -> int:
    """Prepare, then hand over to honcho."""
    env = topology_env()
    release = parse_procfile((ROOT / "Procfile").read_text()).processes["release"]
    run_step("static files", f"{sys.executable} manage.py collectstatic --noinput -v0", env)
    run_step("release", release, env)
    print(banner(), file=sys.stderr, flush=True)
    concurrency = ",".join(f"{name}={count}" for name, count in FORMATION.items())
    honcho = [
        sys.executable,
        "-m",
        "honcho",
        "start",
        "-f",
        "Procfile",
        "-c",
        concurrency,
        "-p",
        str(BASE_PORT),
        *FORMATION,
    ]
    return subprocess.call(honcho, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
