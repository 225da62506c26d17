#!/usr/bin/env python3
"""Run a command against real Redis and Postgres.

    python scripts/services.py run -- CMD ARGS...
    python scripts/services.py env

`run` uses REDIS_URL / DATABASE_URL from the environment when they are set; otherwise it starts
throwaway servers from the local binaries (redis-server; initdb + pg_ctl from
/usr/lib/postgresql/*/bin) on free loopback ports in a temporary directory, runs CMD with
REDIS_URL, DATABASE_URL and PARLEY_SERVICES_TMP (plus PARLEY_REDIS_PORT when it started Redis)
added to its environment, then stops the servers, removes the directory and exits with CMD's
exit code. As root, initdb and pg_ctl run as the `postgres` user (initdb refuses root).
`env` starts nothing and prints what `run` would do.

Standard library only: it runs before the project's virtualenv matters.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

TIMEOUT_S = 60.0
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
PG_USER = "postgres"
PG_DATABASE = "parley"
PG_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
}
INSTALL_HINT = "install it with `make system-deps` (bash scripts/system-deps.sh, as root)"


class ServiceError(RuntimeError):
    """A server could not be found, started or reached."""


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived while the servers were starting."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def log(message: str) -> None:
    """Print one progress line to stderr (a closed stderr must not stop the cleanup)."""
    with contextlib.suppress(OSError):
        print(f"services: {message}", file=sys.stderr, flush=True)


def is_root() -> bool:
    """Whether this process runs as root."""
    return os.geteuid() == 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file, indented, or a note that there is none."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"    ({path} could not be read)"
    tail = text.splitlines()[-lines:] or ["(empty)"]
    return "\n".join(f"    {line}" for line in tail)


def wait_until(check: Callable[[], bool], what: str, log_path: Path) -> None:
    """Poll check() until it is true; raise ServiceError naming what and the log tail."""
    deadline = time.monotonic() + TIMEOUT_S
    while not check():
        if time.monotonic() > deadline:
            raise ServiceError(
                f"{what} not ready after {TIMEOUT_S:.0f}s; {log_path}:\n{log_tail(log_path)}"
            )
        time.sleep(0.1)


def tcp_accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def redis_command(port: int, command: str) -> bytes:
    """Send one inline command to Redis on 127.0.0.1:port; its first reply bytes, or b''."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(command.encode() + b"\r\n")
            return sock.recv(64)
    except OSError:
        return b""


# --- Redis -------------------------------------------------------------------------------------


def find_redis_server() -> str:
    """The redis-server binary on PATH, or ServiceError."""
    path = shutil.which("redis-server")
    if path is None:
        raise ServiceError(f"redis-server not found on PATH; {INSTALL_HINT}, or set REDIS_URL")
    return path


def start_redis(tmp: Path, stack: contextlib.ExitStack) -> dict[str, str]:
    """Start a throwaway redis-server; register its stop on stack; return the env to add."""
    binary = find_redis_server()
    port = free_port()
    workdir = tmp / "redis"
    workdir.mkdir()
    log_path = workdir / "redis.log"
    argv = [binary, "--port", str(port), "--save", "", "--dir", str(workdir)]
    argv += ["--bind", "127.0.0.1", "--appendonly", "no", "--daemonize", "no"]
    log(f"starting redis-server on 127.0.0.1:{port}")
    with log_path.open("ab") as out:
        # Own session: a Ctrl-C in the terminal reaches CMD, not the server under it.
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    safe_callback(stack, stop_redis, proc, port)

    def ready() -> bool:
        if proc.poll() is not None:
            raise ServiceError(
                f"redis-server exited with code {proc.returncode}; {log_path}:\n"
                f"{log_tail(log_path)}"
            )
        return redis_command(port, "PING").startswith(b"+PONG")

    wait_until(ready, f"redis-server on 127.0.0.1:{port}", log_path)
    url = f"redis://127.0.0.1:{port}/0"
    log(f"redis ready on {url}")
    return {"REDIS_URL": url, "PARLEY_REDIS_PORT": str(port)}


def stop_redis(proc: subprocess.Popen[bytes], port: int) -> None:
    """Stop our redis-server, and any server a test restarted on the same port."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if redis_command(port, "PING").startswith(b"+PONG"):
        redis_command(port, "SHUTDOWN NOSAVE")
    log(f"redis-server on 127.0.0.1:{port} stopped")


# --- Postgres ----------------------------------------------------------------------------------


def version_key(bindir: Path) -> tuple[int, ...]:
    """Sort key for /usr/lib/postgresql/<version>/bin by numeric version."""
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def find_pg_bindir() -> Path:
    """The bin directory of the highest installed PostgreSQL version, or ServiceError."""
    candidates = [
        bindir
        for bindir in map(Path, glob.glob(PG_BIN_GLOB))
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists()
    ]
    if not candidates:
        raise ServiceError(
            f"no PostgreSQL binaries in {PG_BIN_GLOB}; {INSTALL_HINT}, or set DATABASE_URL"
        )
    return max(candidates, key=version_key)


def as_postgres(argv: Sequence[str]) -> list[str]:
    """argv, run as the postgres user when we are root (initdb and pg_ctl refuse root)."""
    if not is_root():
        return list(argv)
    if shutil.which("runuser"):
        return ["runuser", "-u", PG_USER, "--", *argv]
    return ["su", PG_USER, "-s", "/bin/sh", "-c", shlex.join(argv)]


def prepare_pg_dirs(tmp: Path) -> Path:
    """Create TMP/postgres (with sock/); as root, make it the postgres user's."""
    root = tmp / "postgres"
    (root / "sock").mkdir(parents=True)
    if is_root():
        try:
            user = pwd.getpwnam(PG_USER)
        except KeyError:
            raise ServiceError(
                f"running as root, but there is no '{PG_USER}' user to run initdb as; "
                f"{INSTALL_HINT}"
            ) from None
        tmp.chmod(0o755)  # mkdtemp makes it 0700: postgres must be able to traverse it
        for path in (root, root / "sock"):
            os.chown(path, user.pw_uid, user.pw_gid)
    return root


def run_step(argv: Sequence[str], what: str, cwd: Path, log_path: Path | None = None) -> None:
    """Run one setup command; on failure raise ServiceError with its output and the log tail."""
    with tempfile.TemporaryFile() as out:
        # A file, not a pipe: a server started by argv may keep inherited pipes open.
        result = subprocess.run(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, timeout=TIMEOUT_S, check=False
        )
        if result.returncode == 0:
            return
        out.seek(0)
        output = out.read().decode(errors="replace").strip()
    message = f"{what} failed (exit {result.returncode}): {shlex.join(argv)}\n{output}"
    if log_path is not None:
        message += f"\n{log_path}:\n{log_tail(log_path)}"
    raise ServiceError(message)


def start_postgres(tmp: Path, stack: contextlib.ExitStack) -> dict[str, str]:
    """initdb and start a throwaway cluster; register its stop on stack; return the env to add."""
    bindir = find_pg_bindir()
    root = prepare_pg_dirs(tmp)
    data, sock, log_path = root / "data", root / "sock", root / "postgres.log"
    port = free_port()
    log(f"initdb {data} ({bindir})")
    initdb = [str(bindir / "initdb"), "-D", str(data), "--auth=trust", "-U", PG_USER]
    initdb += ["-E", "UTF8", "--locale=C", "--no-sync"]
    run_step(as_postgres(initdb), "initdb", cwd=tmp)
    options = shlex.join(
        ["-p", str(port), "-k", str(sock)]
        + [arg for key, value in PG_SETTINGS.items() for arg in ("-c", f"{key}={value}")]
    )
    pg_ctl = str(bindir / "pg_ctl")
    log(f"starting postgres on 127.0.0.1:{port}")
    safe_callback(stack, stop_postgres, pg_ctl, data, tmp)
    start = [pg_ctl, "-D", str(data), "-l", str(log_path), "-o", options]
    start += ["-w", "-t", str(int(TIMEOUT_S)), "start"]
    run_step(as_postgres(start), "pg_ctl start", cwd=tmp, log_path=log_path)
    wait_until(lambda: tcp_accepts(port), f"postgres on 127.0.0.1:{port}", log_path)
    createdb = [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER]
    createdb.append(PG_DATABASE)
    run_step(createdb, f"createdb {PG_DATABASE}", cwd=tmp, log_path=log_path)
    url = f"postgres://{PG_USER}@127.0.0.1:{port}/{PG_DATABASE}"
    log(f"postgres ready on {url}")
    return {"DATABASE_URL": url}


def stop_postgres(pg_ctl: str, data: Path, cwd: Path) -> None:
    """Stop the throwaway cluster: fast shutdown, then immediate if that fails."""
    if not (data / "postmaster.pid").exists():
        return
    for mode in ("fast", "immediate"):
        argv = as_postgres([pg_ctl, "-D", str(data), "-m", mode, "-w", "-t", "30", "stop"])
        result = subprocess.run(argv, capture_output=True, cwd=cwd, check=False)
        if result.returncode == 0:
            log("postgres stopped")
            return
    raise ServiceError(f"pg_ctl stop failed for {data}")


# --- Running the command -----------------------------------------------------------------------


def terminal_sent_it(signum: int) -> bool:
    """Whether a SIGINT most likely came from our terminal, which signals CMD itself too."""
    if signum != signal.SIGINT:
        return False
    try:
        with open("/dev/tty", "rb") as tty:
            return os.tcgetpgrp(tty.fileno()) == os.getpgrp()
    except OSError:
        return False


def set_handlers(handler: Callable[[int, FrameType | None], None] | int) -> None:
    """Install one handler (or SIG_IGN/SIG_DFL) for SIGINT and SIGTERM."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)


def raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    """Signal handler during startup: unwind so the cleanup runs."""
    raise Interrupted(signum)


def exit_code(returncode: int) -> int:
    """A shell-style exit code: 128+N for a child killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def run_child(cmd: Sequence[str], env: dict[str, str]) -> int:
    """Run cmd with env, forwarding SIGINT/SIGTERM to it; return its exit code."""
    try:
        child = subprocess.Popen(cmd, env=env)
    except OSError as exc:
        log(f"cannot run {shlex.join(cmd)}: {exc}")
        return 127

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child.poll() is None and not terminal_sent_it(signum):
            child.send_signal(signum)

    set_handlers(forward)
    try:
        return exit_code(child.wait())
    finally:
        set_handlers(signal.SIG_IGN)  # let the cleanup finish


def safe_callback(stack: contextlib.ExitStack, func: Callable[..., object], *args: object) -> None:
    """Register a cleanup step whose failure is reported but does not stop the others."""

    def step() -> None:
        try:
            func(*args)
        except Exception as exc:  # cleanup must go on
            log(f"cleanup: {exc}")

    stack.callback(step)


def cmd_run(cmd: Sequence[str]) -> int:
    """Start what is missing, run cmd against it, clean up; cmd's exit code."""
    if not cmd:
        log("nothing to run: python scripts/services.py run -- CMD ARGS...")
        return 2
    set_handlers(raise_interrupted)
    try:
        with contextlib.ExitStack() as stack:
            tmp = Path(tempfile.mkdtemp(prefix="parley-services-"))
            safe_callback(stack, shutil.rmtree, tmp)
            env = {**os.environ, "PARLEY_SERVICES_TMP": str(tmp)}
            env.pop("PARLEY_REDIS_PORT", None)
            if "REDIS_URL" not in env:
                env.update(start_redis(tmp, stack))
            else:
                log("using REDIS_URL from the environment")
            if "DATABASE_URL" not in env:
                env.update(start_postgres(tmp, stack))
            else:
                log("using DATABASE_URL from the environment")
            log(f"running {shlex.join(cmd)}")
            code = run_child(cmd, env)
            log(f"command exited with {code}; stopping services")
            return code
    except ServiceError as exc:
        log(f"error: {exc}")
        return 1
    except Interrupted as exc:
        log(f"interrupted by {exc}")
        return 128 + exc.signum
    finally:
        set_handlers(signal.SIG_DFL)


def cmd_env() -> int:
    """Print what `run` would do, starting nothing."""
    for name, start in (("REDIS_URL", find_redis_server), ("DATABASE_URL", find_pg_bindir)):
        if name in os.environ:
            print(f"{name}={os.environ[name]}  (from the environment)")
            continue
        try:
            print(f"{name}: would start a throwaway server from {start()} on a free port")
        except ServiceError as exc:
            print(f"{name}: cannot start one: {exc}")
    if is_root() and "DATABASE_URL" not in os.environ:
        print(f"initdb/pg_ctl would run as the '{PG_USER}' user: {shlex.join(as_postgres([]))}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and dispatch."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="run CMD against Redis and Postgres")
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    sub.add_parser("env", help="print what `run` would do; start nothing")
    args = parser.parse_args(argv)
    if args.action == "env":
        return cmd_env()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    return cmd_run(cmd)


if __name__ == "__main__":
    sys.exit(main())
