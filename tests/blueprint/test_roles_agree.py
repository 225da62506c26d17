"""One process model: the Procfile, the image and the chart run each role alike."""

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from honcho.environ import parse_procfile

from tests.blueprint.tools import find_tool

ROOT = Path(__file__).resolve().parents[2]
# The Procfile's defaults for what the chart sets through its values.
PROCFILE_DEFAULTS = {
    "${PORT:-8000}": "8000",
    "${WEBSOCKET_PING_INTERVAL:-20}": "20",
    "${WEB_CONCURRENCY:-2}": "2",
}


def procfile_command(role: str) -> list[str]:
    """A Procfile line as argv, its variables at their defaults."""
    line = parse_procfile((ROOT / "Procfile").read_text()).processes[role]
    for variable, value in PROCFILE_DEFAULTS.items():
        line = line.replace(variable, value)
    return shlex.split(line)


@pytest.fixture(scope="module")
def chart_commands(tmp_path_factory) -> dict[str, list[str]]:
    """Each rendered workload's first container command, by object name."""
    home = tmp_path_factory.mktemp("helm")
    env = {
        **os.environ,
        **{f"HELM_{kind}_HOME": str(home / kind) for kind in ("CACHE", "CONFIG", "DATA")},
    }
    rendered = subprocess.run(
        [find_tool("helm"), "template", "parley", str(ROOT / "helm" / "parley")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    commands = {}
    for obj in yaml.safe_load_all(rendered):
        if obj and obj["kind"] in ("Deployment", "Job"):
            container = obj["spec"]["template"]["spec"]["containers"][0]
            commands[obj["metadata"]["name"]] = container["command"] + container.get("args", [])
    return commands


@pytest.mark.parametrize(
    ("procfile_role", "chart_object"),
    [
        ("web", "parley-ws"),
        ("wsgi", "parley-web"),
        ("worker", "parley-worker"),
        ("release", "parley-migrate"),
    ],
)
def test_chart_runs_the_procfile_command(chart_commands, procfile_role, chart_object):
    assert chart_commands[chart_object] == procfile_command(procfile_role)


def test_image_default_command_is_the_procfile_web_line():
    for instruction in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines():
        if instruction.startswith("CMD "):
            assert json.loads(instruction[4:]) == procfile_command("web")
            return
    pytest.fail("the Dockerfile has no CMD")
