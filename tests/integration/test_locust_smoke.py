"""A short, real Locust run of loadtest/locustfile.py against the Procfile's topology.

Locust runs as a user runs it (its own command, headless, in a fresh
directory), against web.1 for pages and both interface servers for sockets,
so every room's members sit on both servers, once in the seed's plain dialect
and once opted in (``--parley-v1``: client ids, acks, catch-up, through the
client model the fault tests share). The run must deliver, with no failures,
every connect succeeding and no message lost. No latency is asserted: the
figures are for benchmarks, not tests.
"""

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.procfile import ARTIFACTS, ROOT, VENV_BIN

ROOMS = 2
MEMBERS_PER_ROOM = 6  # one sender and five listeners
USERS = ROOMS * MEMBERS_PER_ROOM


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of one of Locust's CSV files."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
@pytest.mark.parametrize("dialect", [[], ["--parley-v1"]], ids=["plain", "parley.v1"])
def test_locust_smoke_run_delivers_everything_and_loses_nothing(topology, tmp_path, dialect):
    web1, web2 = topology.webs
    prefix = tmp_path / "parley"
    command = [
        str(VENV_BIN / "locust"),
        "-f",
        str(ROOT / "loadtest" / "locustfile.py"),
        "--headless",
        "-u",
        str(USERS),
        "-r",
        str(USERS),
        "-t",
        "12s",
        "--host",
        web1.url,
        "--ws-host",
        f"{web1.ws_url},{web2.ws_url}",
        "--rooms",
        str(ROOMS),
        "--members-per-room",
        str(MEMBERS_PER_ROOM),
        "--message-rate",
        "2",
        "--csv",
        str(prefix),
        "--only-summary",
        *dialect,
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOCUST_")}
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    output = f"{result.stdout}\n{result.stderr}"
    (ARTIFACTS / f"locust-smoke{''.join(dialect)}.log").write_text(output, encoding="utf-8")
    assert result.returncode == 0, output[-6000:]

    stats = {(row["Type"], row["Name"]): row for row in read_csv(Path(f"{prefix}_stats.csv"))}
    deliver = stats[("WS", "deliver")]
    assert int(deliver["Request Count"]) > 0
    assert int(deliver["Failure Count"]) == 0
    connect = stats[("WS", "connect")]
    assert int(connect["Request Count"]) == USERS, connect
    assert int(connect["Failure Count"]) == 0
    assert int(stats[("GET", "/new/")]["Request Count"]) == ROOMS  # one room per /new/
    assert ("WS", "lost") not in stats, stats.get(("WS", "lost"))
    assert read_csv(Path(f"{prefix}_failures.csv")) == []

    report = json.loads(Path(f"{prefix}_fanout.json").read_text(encoding="utf-8"))
    counts = report["counts"]
    assert report["rooms"] == ROOMS
    assert counts["connects"] == USERS
    assert counts["connect_failures"] == counts["disconnects"] == 0
    assert counts["sent"] > 0
    # Each member got every message sent into its room while it was in it.
    assert counts["checked"] > 0
    assert counts["lost"] == 0
    assert counts["duplicates"] == counts["out_of_order"] == counts["gaps"] == 0
    assert counts["unconfirmed"] == counts["refused"] == 0
    assert counts["deliveries"] == int(deliver["Request Count"])
    assert counts["deliveries"] >= counts["checked"]
    assert "Parley fan-out" in output
    if dialect:  # opted in: the server acknowledged what was sent
        assert 0 < counts["acks"] == int(stats[("WS", "ack")]["Request Count"])
    else:
        assert counts["acks"] == 0
