"""GitHub Actions workflows: actionlint, checkov, and the project's own rules.

The rules (STYLE.md, "GitHub Actions"): top-level permissions read-only or
empty, widened per job; a timeout on every job; concurrency (deploys queue,
everything else cancels superseded runs); checkout without persisted
credentials; every third-party action pinned to a full commit SHA with a
``# vX.Y.Z`` comment.
"""

import json
import os
import re
import shlex
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.blueprint.tools import find_tool

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml")) + sorted(WORKFLOWS_DIR.glob("*.yaml"))
LOCAL_ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.y*ml"))
ACTION_FILES = WORKFLOWS + LOCAL_ACTIONS
EXPECTED = {"ci.yml", "image.yml", "deploy.yml", "heroku.yml", "loadtest.yml"}
# Deploys queue behind each other instead of being cancelled half-way.
DEPLOY_WORKFLOWS = {"deploy.yml", "heroku.yml"}
READ_ONLY_TOP_LEVEL = ({}, {"contents": "read"})

USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<comment>.*))?$")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^v?\d+\.\d+\.\d+\b")
EXPRESSION = re.compile(r"\$\{\{(?P<body>.*?)\}\}")
FALLBACK = re.compile(r"\|\|\s*'(?P<literal>[^']*)'\s*$")
HELM_RUN = re.compile(r"\bhelm\s+(?:upgrade|install)\b")
# `helm upgrade` flags that `helm template` does not take; everything else is passed on as is,
# so a flag that `helm template` does not know fails the render like a typo would.
UPGRADE_ONLY_SWITCHES = {"--install", "--reuse-values", "--reset-values",
                         "--reset-then-reuse-values", "--cleanup-on-fail"}  # fmt: skip
UPGRADE_ONLY_WITH_VALUE = {"--history-max", "--max-history"}
# What the runner's environment holds where a step reads it.
RUNNER_ENV = {
    "GITHUB_REPOSITORY": "Parley-Chat/parley",
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
    "GITHUB_WORKSPACE": str(Path(__file__).resolve().parents[2]),
}


def load(path: Path) -> dict:
    """Parse a workflow, restoring the ``on`` key that YAML 1.1 reads as True."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps_of(document: dict) -> list[tuple[str, dict]]:
    """Return ``(job id, step)`` for every step of every job."""
    return [
        (job_id, step)
        for job_id, job in document.get("jobs", {}).items()
        for step in job.get("steps", [])
    ]


def run_text(document: dict) -> str:
    """Return every ``run:`` script of a workflow, joined."""
    return "\n".join(step.get("run", "") for _, step in steps_of(document))


def job_run_text(job: dict) -> str:
    """Return every ``run:`` script of one job, joined."""
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


def uses_of(document: dict) -> list[str]:
    """Return every ``uses:`` of a workflow or composite action (steps and reusable jobs)."""
    found = [job["uses"] for job in document.get("jobs", {}).values() if "uses" in job]
    found += [step["uses"] for _, step in steps_of(document) if "uses" in step]
    found += [step["uses"] for step in document.get("runs", {}).get("steps", []) if "uses" in step]
    return found


def ids(paths: list[Path]) -> list[str]:
    """Test ids: paths relative to the repository."""
    return [str(path.relative_to(ROOT)) for path in paths]


def test_every_pipeline_exists():
    assert {path.name for path in WORKFLOWS} >= EXPECTED


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_actionlint_passes(path):
    result = subprocess.run(
        [find_tool("actionlint"), "-no-color", str(path.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_top_level_permissions_are_read_only(path):
    document = load(path)
    assert "permissions" in document, "set top-level permissions: {} or contents: read"
    assert document["permissions"] in READ_ONLY_TOP_LEVEL
    for job_id, job in document["jobs"].items():
        assert job.get("permissions") not in ("write-all", "read-all"), job_id


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_every_job_has_a_timeout(path):
    for job_id, job in load(path)["jobs"].items():
        if "uses" in job:  # a reusable workflow call: its own jobs carry the timeouts
            continue
        timeout = job.get("timeout-minutes")
        assert isinstance(timeout, int), f"{job_id} has no timeout-minutes"
        assert 0 < timeout <= 120, f"{job_id}: timeout-minutes {timeout}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_concurrency(path):
    document = load(path)
    if "workflow_call" in (document["on"] or {}):
        return  # a reusable workflow runs in its caller's concurrency group
    concurrency = document.get("concurrency")
    assert isinstance(concurrency, dict), "no concurrency"
    assert concurrency.get("group"), "no concurrency group"
    queue = path.name in DEPLOY_WORKFLOWS
    assert concurrency.get("cancel-in-progress") is (not queue)


@pytest.mark.parametrize("path", ACTION_FILES, ids=ids(ACTION_FILES))
def test_actions_are_pinned_to_a_commit_with_its_version(path):
    lines = [USES_LINE.match(line) for line in path.read_text(encoding="utf-8").splitlines()]
    refs = [match for match in lines if match]
    assert sorted(match["ref"].strip("'\"") for match in refs) == sorted(uses_of(load(path)))
    for match in refs:
        ref = match["ref"].strip("'\"")
        if ref.startswith("./"):
            continue
        assert not ref.startswith("docker://") or "@sha256:" in ref, ref
        assert PINNED.match(ref), f"{ref}: pin to a full 40-hex commit SHA"
        assert VERSION_COMMENT.match(match["comment"] or ""), f"{ref}: add a '# vX.Y.Z' comment"


@pytest.mark.parametrize("path", WORKFLOWS, ids=ids(WORKFLOWS))
def test_checkout_does_not_persist_credentials(path):
    for job_id, step in steps_of(load(path)):
        if step.get("uses", "").startswith("actions/checkout@"):
            persist = step.get("with", {}).get("persist-credentials")
            assert persist in (False, "false"), f"{job_id}: persist-credentials: false"


def test_ci_runs_make_test_with_redis_and_postgres():
    document = load(WORKFLOWS_DIR / "ci.yml")
    assert {"push", "pull_request"} <= set(document["on"])
    jobs = [job for job in document["jobs"].values() if "make test" in job_run_text(job)]
    assert jobs, "no job runs `make test`"
    job = jobs[0]
    assert {"redis", "postgres"} <= set(job.get("services", {}))
    assert {"REDIS_URL", "DATABASE_URL"} <= set(job.get("env", {}))
    assert "make lint" in run_text(document)


def test_image_is_scanned_before_it_is_pushed():
    document = load(WORKFLOWS_DIR / "image.yml")
    jobs = document["jobs"]
    scans = [
        step.get("with", {})
        for _, step in steps_of(document)
        if step.get("uses", "").startswith("aquasecurity/trivy-action@")
    ]
    assert any(str(scan.get("exit-code")) == "1" for scan in scans), "no failing Trivy gate"
    assert all(scan.get("severity") == "HIGH,CRITICAL" for scan in scans)
    writers = [
        name for name, job in jobs.items() if "security-events" in job.get("permissions", ())
    ]
    assert writers == ["scan"], "only the scan job may write security events"
    assert jobs["push"]["needs"] == "scan"
    assert "github.event_name == 'push'" in jobs["push"]["if"], "push on main and tags only"


def test_deploy_is_atomic_tested_and_reported():
    document = load(WORKFLOWS_DIR / "deploy.yml")
    script = " ".join(run_text(document).split())
    assert "helm upgrade --install" in script
    for flag in ("--atomic", "--wait", "--timeout 10m", 'image.tag="$IMAGE_TAG"'):
        assert flag in script, flag
    for command in ("helm test", "helm rollback", "helm history"):
        assert command in script, command
    job = next(iter(document["jobs"].values()))
    assert "environment" in job, "deploys are gated by a GitHub environment"
    assert "head_sha" in job["env"]["IMAGE_TAG"], "deploy the commit Image built"


def test_heroku_deploys_then_smoke_tests():
    script = run_text(load(WORKFLOWS_DIR / "heroku.yml"))
    assert "git.heroku.com" in script
    assert "HEROKU_API_KEY" in script
    assert "manage.py smoke --base-url" in script


def test_loadtest_runs_locust_and_keeps_the_report():
    document = load(WORKFLOWS_DIR / "loadtest.yml")
    assert {"target", "users", "spawn-rate", "run-time"} <= set(
        document["on"]["workflow_dispatch"]["inputs"]
    )
    script = " ".join(run_text(document).split())
    assert "locust -f loadtest/locustfile.py --headless" in script
    for flag in ("--users", "--spawn-rate", "--run-time", "--csv", "--html"):
        assert flag in script, flag
    uploads = [s for _, s in steps_of(document) if "upload-artifact" in s.get("uses", "")]
    assert uploads, "the report is not uploaded"
    assert uploads[0].get("if") == "always()"


def test_checkov_finds_no_failed_checks():
    result = subprocess.run(
        [
            find_tool("checkov"),
            "--directory",
            str(WORKFLOWS_DIR),
            "--framework",
            "github_actions",
            "--skip-download",
            "--output",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    checks = [report["results"] for report in reports if "results" in report]
    assert checks, f"checkov scanned nothing: {result.stdout[:500]} {result.stderr[-2000:]}"
    failed = [c for r in checks for c in r["failed_checks"]]
    assert not failed, [(c["check_id"], c["file_path"], c["resource"]) for c in failed]
    for skipped in (c for r in checks for c in r["skipped_checks"]):
        reason = skipped.get("check_result", {}).get("suppress_comment", "")
        assert len(reason) > 20, f"{skipped['check_id']} skipped without a reason"


# ------------------------------------------------------------------ helm commands, rendered


def dummy(expression: str, unset: str) -> str:
    """A stand-in for a ``${{ ... }}`` expression: its literal fallback, else ``unset``."""
    fallback = FALLBACK.search(expression.strip())
    return fallback["literal"] if fallback else unset


def with_dummies(text: str, unset: str) -> str:
    """``text`` with every GitHub expression replaced by its stand-in."""
    return EXPRESSION.sub(lambda match: dummy(match["body"], unset), text)


def helm_steps() -> list[tuple[str, str, dict, dict]]:
    """(workflow, job id, job, step) of every step that runs `helm upgrade` or `helm install`."""
    found = []
    for path in WORKFLOWS:
        for job_id, job in load(path).get("jobs", {}).items():
            for step in job.get("steps", []):
                if HELM_RUN.search(step.get("run", "")):
                    found.append((path.name, job_id, job, step))
    return found


HELM_STEPS = helm_steps()


def recorded_helm_calls(
    document_env: dict, job: dict, step: dict, tmp_path: Path, unset: str
) -> list[list]:
    """Run the step's script with a recording ``helm`` first on PATH; return each call's argv.

    Expressions (variables, secrets, event fields) become their literal fallback where they
    have one, else ``unset``: a dummy word, or "" to take the script's own defaults.
    """
    calls = tmp_path / "calls.jsonl"
    fake = tmp_path / "bin" / "helm"
    fake.parent.mkdir()
    fake.write_text(
        "#!/usr/bin/env python3\nimport json, os, sys\n"
        "with open(os.environ['HELM_CALLS'], 'a') as out:\n"
        "    out.write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = {"PATH": f"{fake.parent}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    env |= RUNNER_ENV | {"RUNNER_TEMP": str(tmp_path), "GITHUB_ENV": str(tmp_path / "env")}
    for scope in (document_env, job.get("env", {}), step.get("env", {})):
        env |= {name: with_dummies(str(value), unset) for name, value in scope.items()}
    env["HELM_CALLS"] = str(calls)
    script = with_dummies(step["run"], unset)
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in calls.read_text().splitlines()]


def as_template(argv: list[str], values_file: Path) -> list[str]:
    """``helm upgrade --install R C <flags>`` as ``helm template R C <the same flags>``."""
    command, args = argv[0], argv[1:]
    assert command in ("upgrade", "install"), argv
    out, i = ["template", "--is-upgrade"] if command == "upgrade" else ["template"], 0
    while i < len(args):
        arg = args[i]
        if arg in UPGRADE_ONLY_SWITCHES:
            i += 1
            continue
        if arg in UPGRADE_ONLY_WITH_VALUE:
            i += 2
            continue
        if arg in ("--values", "-f") and not (ROOT / args[i + 1]).is_file():
            out += [arg, str(values_file)]  # a values file the runner would have: a dummy one
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def test_every_helm_upgrade_is_found():
    assert {name for name, *_ in HELM_STEPS} >= {"deploy.yml"}


@pytest.mark.parametrize("unset", ["dummy-value", ""], ids=["inputs-set", "inputs-empty"])
@pytest.mark.parametrize(
    ("workflow", "job_id", "job", "step"),
    HELM_STEPS,
    ids=[f"{name}:{job_id}:{step.get('name', '')}" for name, job_id, _, step in HELM_STEPS],
)
def test_helm_upgrade_renders_against_the_chart(workflow, job_id, job, step, unset, tmp_path):
    """The exact command, run by bash with dummy inputs, then rendered with `helm template`.

    The chart's values.schema.json refuses unknown keys, so a value the workflow sets that the
    chart does not have (a misspelt or misplaced key) fails here instead of in every deploy.
    """
    document_env = load(WORKFLOWS_DIR / workflow).get("env", {})
    calls = recorded_helm_calls(document_env, job, step, tmp_path, unset)
    upgrades = [argv for argv in calls if argv[:1] in (["upgrade"], ["install"])]
    assert upgrades, f"{workflow}:{job_id} ran no helm upgrade: {calls}"
    values = tmp_path / "values.yaml"
    values.write_text("{}\n")
    for argv in upgrades:
        command = [find_tool("helm"), *as_template(argv, values)]
        env = {**os.environ, **{name: str(tmp_path / name) for name in HELM_HOMES}}
        result = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, f"{shlex.join(command)}\n{result.stderr}"
        rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        assert any(doc["kind"] == "Deployment" for doc in rendered)


HELM_HOMES = ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME")
