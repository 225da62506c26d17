"""Start Parley's roles exactly as the Procfile says, as real processes."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from honcho.environ import parse_procfile

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"
# Logs of the processes a test run started; wiped when a run starts. Parallel runs
# (several sessions in one checkout) give each their own with PARLEY_TEST_ARTIFACTS.
ARTIFACTS = Path(os.environ.get("PARLEY_TEST_ARTIFACTS", ROOT / "test-artifacts"))


def procfile_lines() -> dict[str, str]:
    """Return the Procfile's process types and their command lines."""
    procfile = parse_procfile((ROOT / "Procfile").read_text())
    return dict(procfile.processes)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RoleProcess:
    """One running Procfile process (``web.1``, ``worker.2``, ...)."""

    name: str
    command: str
    env: dict[str, str]
    port: int | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        """Where the process's output goes."""
        return ARTIFACTS / f"{self.name}.log"

    def start(self) -> "RoleProcess":
        """Start the command as Heroku and honcho do: through a shell, with PORT set."""
        ARTIFACTS.mkdir(exist_ok=True)
        env = dict(self.env)
        if self.port is not None:
            env["PORT"] = str(self.port)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {self.command}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_ready(self, path: str = "/readyz", timeout: float = 30.0) -> None:
        """Wait until the server answers ``path`` with 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_running()
            try:
                with urllib.request.urlopen(f"{self.url}{path}", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout} s:\n{self.log_tail()}")

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT``."""
        return f"ws://127.0.0.1:{self.port}"

    def assert_running(self) -> None:
        """Fail with the log's tail when the process has exited."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
            )

    def run(self, timeout: float = 120.0) -> int:
        """Run a one-off process (``release``) to completion; return its exit code."""
        self.start()
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Signal the process group and wait for it to exit; kill it if it does not."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        os.killpg(self.process.pid, sig)  # the whole group: `make run` has children
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the process wrote."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
