"""A private Postgres cluster that a fault test may stop and start again, on the same port."""

import contextlib
import subprocess
from pathlib import Path

from scripts.services import (
    PG_SETTINGS,
    as_postgres,
    find_pg_bindir,
    start_postgres,
)


class PostgresServer:
    """A throwaway cluster made the way ``make test`` makes its own (scripts/services.py)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._stack = contextlib.ExitStack()
        self.url = ""

    @property
    def data(self) -> Path:
        """The cluster's data directory."""
        return self.workdir / "postgres" / "data"

    def create(self) -> "PostgresServer":
        """initdb and start it; remember its URL."""
        self.url = start_postgres(self.workdir, self._stack)["DATABASE_URL"]
        return self

    def stop(self) -> None:
        """Stop it at once (immediate: connections are cut, as in a crash or failover)."""
        self._pg_ctl("-m", "immediate", "stop")

    def start(self) -> None:
        """Start it again with its data, on the same port."""
        port = self.url.rsplit(":", 1)[1].split("/")[0]
        options = ["-p", port, "-k", str(self.workdir / "postgres" / "sock")]
        options += [arg for key, value in PG_SETTINGS.items() for arg in ("-c", f"{key}={value}")]
        self._pg_ctl(
            "-o", " ".join(options), "-l", str(self.workdir / "postgres" / "postgres.log"), "start"
        )

    def close(self) -> None:
        """Stop it for good (the cluster is thrown away with its directory)."""
        self._stack.close()

    def _pg_ctl(self, *args: str) -> None:
        pg_ctl = str(find_pg_bindir() / "pg_ctl")
        argv = as_postgres([pg_ctl, "-D", str(self.data), "-w", "-t", "60", *args])
        subprocess.run(argv, check=True, capture_output=True, cwd=self.workdir, timeout=90)
