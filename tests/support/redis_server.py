"""A private ``redis-server`` that a fault test may stop and start again on the same port."""

import subprocess
import time
from pathlib import Path

import redis

from tests.support.procfile import free_port


class RedisServer:
    """A ``redis-server`` without persistence: a restart forgets everything, as a failover can."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A short-lived client for the test's own reads."""
        return redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)

    def start(self, timeout: float = 30.0) -> "RedisServer":
        """Start the server and wait until it answers PING."""
        argv = ["redis-server", "--save", "", "--appendonly", "no", "--port", str(self.port)]
        argv += ["--bind", "127.0.0.1", "--dir", str(self.workdir)]
        with (self.workdir / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self._pings():
            assert time.monotonic() < deadline, f"redis-server on {self.port} did not answer"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop the server at once (SIGKILL: no goodbye to its clients) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=15)

    def restart(self, down_for: float) -> float:
        """Stop, stay down ``down_for`` seconds, start again; return how long it was down."""
        started = time.monotonic()
        self.stop()
        time.sleep(down_for)
        self.start()
        return time.monotonic() - started

    def _pings(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, f"redis-server exited: {self.workdir}/redis.log"
        try:
            return bool(self.client().ping())
        except redis.ConnectionError:
            return False
