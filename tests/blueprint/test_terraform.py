"""Checks of the Terraform blueprint in infra/terraform (offline, no AWS account).

For every module and the example: `terraform fmt -check`, `init` + `validate`,
and `terraform test` (plans against a mocked AWS provider); then checkov over
the whole tree, and the variable/output documentation rules of STYLE.md.

The tree is copied to a temporary directory before `init`, so no `.terraform`
directory or lock file is left in the checkout. Where the AWS provider is
mirrored at /opt/tf-plugins it is installed from there (no network); elsewhere
`init` downloads it as usual. Every root is initialised in turn, then the
validate/test runs of all roots go in parallel threads, once per session.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.blueprint.tools import find_tool

REPO = Path(__file__).resolve().parents[2]
TF_ROOT = REPO / "infra" / "terraform"
PLUGIN_DIR = Path("/opt/tf-plugins")
MODULES = ("network", "eks", "redis", "postgres", "ecr", "secrets", "kms", "generated-secret")
ROOTS = (*(f"modules/{m}" for m in MODULES), "examples/complete")
COMMAND_TIMEOUT = 300
OUTPUT_TAIL = 6000


@dataclass(frozen=True)
class Step:
    """One command run against a root, with what it printed."""

    command: str
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        """Whether the command exited with status 0."""
        return self.returncode == 0

    def report(self) -> str:
        """A failure message: the command, its status and the end of its output."""
        return f"$ {self.command}\n(exit {self.returncode})\n{self.output[-OUTPUT_TAIL:]}"


def _environment(plugin_cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CLI_ARGS")}
    env.update(
        TF_CLI_CONFIG_FILE="/dev/null",
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        # One copy of the provider for every root (linked, not copied per root).
        TF_PLUGIN_CACHE_DIR=str(plugin_cache),
    )
    return env


def _text(value: str | bytes | None) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else (value or "")


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> Step:
    try:
        done = subprocess.run(
            args,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = _text(exc.stdout) + _text(exc.stderr)
        return Step(" ".join(args), -1, f"timed out after {COMMAND_TIMEOUT}s\n{output}")
    return Step(" ".join(args), done.returncode, done.stdout + done.stderr)


class Workspace:
    """A copy of infra/terraform where every root is initialised, validated and tested."""

    def __init__(self, terraform: str) -> None:
        self.terraform = terraform
        self.directory = Path(tempfile.mkdtemp(prefix="parley-terraform-"))
        self.tree = self.directory / "terraform"
        shutil.copytree(
            TF_ROOT,
            self.tree,
            ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*"),
        )
        cache = self.directory / "plugin-cache"
        cache.mkdir()
        self.env = _environment(cache)
        self.results: dict[str, Future[dict[str, Step]]] = {}
        self._pool = ThreadPoolExecutor(max_workers=min(len(ROOTS), os.cpu_count() or 2))

    def start(self) -> None:
        """Initialise every root one by one, then validate and test them in parallel.

        Terraform's plugin cache is not safe for concurrent use: an `init` that
        relinks the cached provider while another root's `terraform test` runs
        makes that provider vanish under it ("fork/exec ...: no such file").
        """
        inits = {root: self._init(root) for root in ROOTS}
        for root in ROOTS:
            self.results[root] = self._pool.submit(self._check_root, root, inits[root])

    def close(self) -> None:
        """Wait for the runs and delete the copy (and its .terraform directories)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.directory, ignore_errors=True)

    def _init(self, root: str) -> Step:
        args = [self.terraform, "init", "-backend=false", "-input=false", "-no-color"]
        if PLUGIN_DIR.is_dir():
            args.append(f"-plugin-dir={PLUGIN_DIR}")
        return _run(args, self.tree / root, self.env)

    def _check_root(self, root: str, init: Step) -> dict[str, Step]:
        steps = {"init": init}
        if not steps["init"].ok:
            return steps
        cwd = self.tree / root
        steps["validate"] = _run([self.terraform, "validate", "-no-color"], cwd, self.env)
        steps["test"] = _run([self.terraform, "test", "-no-color"], cwd, self.env)
        return steps


@pytest.fixture(scope="session")
def terraform() -> str:
    """Path of the terraform binary (fails the test when there is none)."""
    return find_tool("terraform")


@pytest.fixture(scope="session")
def workspace(terraform: str) -> Iterator[Workspace]:
    """Every root initialised, validated and tested once per session, in parallel."""
    space = Workspace(terraform)
    try:
        space.start()
        yield space
    finally:
        space.close()


def _steps(workspace: Workspace, root: str) -> dict[str, Step]:
    steps = workspace.results[root].result(timeout=3 * COMMAND_TIMEOUT)
    assert steps["init"].ok, f"terraform init failed in {root}:\n{steps['init'].report()}"
    return steps


def test_terraform_fmt(terraform: str) -> None:
    """Every .tf and .tftest.hcl file is formatted as `terraform fmt` writes it."""
    env = _environment(Path(tempfile.gettempdir()))
    step = _run([terraform, "fmt", "-check", "-recursive", "-diff", "-no-color"], TF_ROOT, env)
    assert step.ok, f"Run `terraform fmt -recursive infra/terraform`:\n{step.report()}"


@pytest.mark.parametrize("root", ROOTS)
def test_terraform_validate(workspace: Workspace, root: str) -> None:
    """`terraform init` and `terraform validate` pass for the module or example."""
    step = _steps(workspace, root)["validate"]
    assert step.ok, f"terraform validate failed in {root}:\n{step.report()}"


@pytest.mark.parametrize("root", ROOTS)
def test_terraform_test(workspace: Workspace, root: str) -> None:
    """`terraform test` (plans against a mocked AWS provider) passes for the module or example."""
    assert any((TF_ROOT / root / "tests").glob("*.tftest.hcl")), f"{root} has no tests/*.tftest.hcl"
    step = _steps(workspace, root)["test"]
    assert step.ok, f"terraform test failed in {root}:\n{step.report()}"
    assert re.search(r"Success! \d+ passed, 0 failed", step.output), step.report()


def test_checkov_finds_no_failed_checks() -> None:
    """checkov reports no failed check; every skip in the tree states its reason."""
    step = _run(
        [
            find_tool("checkov"),
            "-d",
            str(TF_ROOT),
            "--framework",
            "terraform",
            "--skip-download",
            "--compact",
            "--quiet",
        ],
        REPO,
        dict(os.environ),
    )
    assert step.ok, f"checkov found failed checks:\n{step.report()}"


def test_checkov_skips_state_a_reason() -> None:
    """Each `#checkov:skip=` names one check and says why it does not apply."""
    bare = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted(TF_ROOT.rglob("*.tf"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "checkov:skip=" in line and not re.search(r"checkov:skip=CKV2?_AWS_\d+:\S.{10,}", line)
    ]
    assert not bare, "checkov skips without a reason:\n" + "\n".join(bare)


def _blocks(text: str, kind: str) -> Iterator[tuple[str, list[str]]]:
    """Yield (name, top-level attribute names in order) of each `kind "name" {}` block."""
    for match in re.finditer(rf'^{kind} "([^"]+)" \{{\n', text, flags=re.MULTILINE):
        depth, attributes = 1, []
        for line in text[match.end() :].splitlines():
            if depth == 1 and (attribute := re.match(r"^  ([a-z_]+)\s*=", line)):
                attributes.append(attribute.group(1))
            depth += line.count("{") - line.count("}")
            if depth == 0:
                break
        yield match.group(1), attributes


@pytest.mark.parametrize("root", ROOTS)
def test_variables_and_outputs_are_documented(root: str) -> None:
    """Variables open with description, type, then default (if any); outputs have a description."""
    problems = []
    for name, attributes in _blocks((TF_ROOT / root / "variables.tf").read_text(), "variable"):
        expected = ["description", "type"] + (["default"] if "default" in attributes else [])
        if attributes[: len(expected)] != expected:
            problems.append(f"variable {name}: {attributes} should start with {expected}")
    for name, attributes in _blocks((TF_ROOT / root / "outputs.tf").read_text(), "output"):
        if "description" not in attributes:
            problems.append(f"output {name}: no description")
    for required in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        if root.startswith("modules/") and not (TF_ROOT / root / required).is_file():
            problems.append(f"missing {required}")
    assert not problems, f"{root}:\n" + "\n".join(problems)
