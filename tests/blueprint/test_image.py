"""The image, built for real, and every role run from it exactly as the Helm chart renders it.

Needs root with Debian's docker.io and debootstrap (``make system-deps``). A private dockerd
(``scripts/docker-engine.sh``) builds ``parley-base:bookworm`` with debootstrap once, then the
Dockerfile on it (both cached between runs). ``helm template`` renders the chart with the image
set to the one just built and the Secret's DATABASE_URL/REDIS_URL set to a throwaway Postgres
database and Redis db on loopback; each rendered container then runs with ``docker run`` as its
pod spec says: command and args, environment (envFrom and valueFrom resolved against the
rendered ConfigMap and Secrets), runAsUser/runAsGroup/fsGroup, readOnlyRootFilesystem,
capabilities, allowPrivilegeEscalation, the /tmp emptyDir (as a tmpfs of its sizeLimit), and its
memory and CPU limits.

The one change made to the rendered specs: the containers share the host's network
(``--network host``; the private daemon has no bridge), so two ws containers and a web one
cannot all listen on containerPort 8000. Each container port gets a free host port, and every
place the container takes that port — daphne's ``--port``, gunicorn's ``--bind HOST:PORT``, the
PORT/METRICS_PORT environment — is rewritten to it; probes and Services follow the rewrite.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
import yaml

from tests.blueprint.tools import find_tool
from tests.support.chat import (
    connect,
    create_room,
    recv_messages,
    recv_until,
    send_chat,
    visit_room,
)
from tests.support.procfile import ARTIFACTS, free_port
from tests.support.topology import create_database, drop_database, with_redis_db

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "parley"
ENGINE = ROOT / "scripts" / "docker-engine.sh"
BASE_IMAGE = "parley-base:bookworm"
REPOSITORY, TAG = "parley", "chart-test"
IMAGE = f"{REPOSITORY}:{TAG}"
RELEASE = "parley"
REDIS_DB = 15  # the topology fixtures use 1 and up
READY_TIMEOUT_S = 90
TEST_POD = f"{RELEASE}-test-chat-roundtrip"

# A cold run builds the base image (debootstrap, ~1 min) and the image (pip, ~1 min).
pytestmark = pytest.mark.timeout(900)


# ------------------------------------------------------------------ docker


@dataclass
class Docker:
    """The private engine's client (Debian's, the daemon's own version)."""

    env: dict[str, str]
    cli: str = field(default_factory=lambda: shutil.which("docker", path="/usr/bin") or "docker")

    def __call__(self, *args: str, timeout: float = 120, check: bool = True, **env: str):
        """Run one docker command; return the finished process (text output)."""
        result = subprocess.run(
            [self.cli, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**self.env, **env},
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args[:3])} failed:\n{result.stderr[-3000:]}")
        return result


def missing_prerequisites() -> list[str]:
    """What this machine lacks to build and run images."""
    missing = [] if os.geteuid() == 0 else ["root"]
    for tool, package in (("dockerd", "docker.io"), ("debootstrap", "debootstrap")):
        if not shutil.which(tool, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"):
            missing.append(f"{tool} (Debian {package})")
    return missing


@pytest.fixture(scope="session")
def docker() -> Iterator[Docker]:
    """A running private dockerd with the base image; stopped again if this session started it."""
    missing = missing_prerequisites()
    if missing:
        pytest.fail(
            f"building and running the image needs {', '.join(missing)}: "
            "run `make system-deps` as root (it installs docker.io and debootstrap)",
            pytrace=False,
        )
    was_running = subprocess.run(["bash", ENGINE, "status"], check=False).returncode == 0
    up = subprocess.run(["bash", ENGINE, "up"], capture_output=True, text=True, check=False)
    if up.returncode != 0:
        pytest.fail(f"scripts/docker-engine.sh up failed:\n{up.stderr[-3000:]}", pytrace=False)
    host = re.search(r"DOCKER_HOST=(\S+)", up.stdout).group(1)
    yield Docker({**os.environ, "DOCKER_HOST": host})
    if not was_running:
        subprocess.run(["bash", ENGINE, "stop"], check=False)


@pytest.fixture(scope="session")
def image(docker: Docker) -> str:
    """The Dockerfile built on the debootstrap base (BuildKit, layers cached between runs)."""
    ARTIFACTS.mkdir(exist_ok=True)
    build = docker(
        "build", "--network", "host", "--progress", "plain",
        "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "-t", IMAGE, str(ROOT),
        timeout=900, check=False, DOCKER_BUILDKIT="1",
    )  # fmt: skip
    (ARTIFACTS / "image-build.log").write_text(build.stdout + build.stderr)
    assert build.returncode == 0, f"docker build failed:\n{build.stderr[-4000:]}"
    # Earlier builds' images, now untagged (the build cache is kept).
    docker("image", "prune", "--force", "--filter", "label=org.opencontainers.image.title=Parley")
    return IMAGE


# ------------------------------------------------------------------ the rendered chart


@dataclass
class Chart:
    """The objects ``helm template`` rendered."""

    objects: list[dict[str, Any]]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        """The one object of this kind and name."""
        found = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one rendered {kind}/{name}, found {len(found)}"
        return found[0]

    def pod(self, kind: str, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The pod spec of a workload and its (only) container."""
        obj = self.get(kind, name)
        spec = obj["spec"] if kind == "Pod" else obj["spec"]["template"]["spec"]
        assert len(spec["containers"]) == 1, f"{kind}/{name} has several containers"
        return spec, spec["containers"][0]

    def data(self, kind: str, name: str) -> dict[str, str]:
        """A ConfigMap's data, or a Secret's data decoded."""
        obj = self.get(kind, name)
        if kind == "Secret":
            decoded = {k: base64.b64decode(v).decode() for k, v in obj.get("data", {}).items()}
            return {**decoded, **obj.get("stringData", {})}
        return dict(obj.get("data", {}))

    def environment(self, container: dict[str, Any]) -> dict[str, str]:
        """The container's environment as the kubelet builds it (envFrom, then env)."""
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            kind, ref = next((k, source[r]) for r, k in REF_KINDS.items() if r in source)
            prefix = source.get("prefix", "")
            env.update({prefix + k: v for k, v in self.data(kind, ref["name"]).items()})
        for var in container.get("env", []):
            env[var["name"]] = var["value"] if "value" in var else self._value_from(var)
        return env

    def _value_from(self, var: dict[str, Any]) -> str:
        source = var["valueFrom"]
        for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            if key in source:
                return self.data(kind, source[key]["name"])[source[key]["key"]]
        raise AssertionError(f"env {var['name']}: valueFrom {source} is not supported here")

    def service_port(self, host: str, port: int) -> tuple[str, int | str]:
        """(component, targetPort) behind Service ``host`` on ``port``."""
        service = self.get("Service", host)
        target = next(p for p in service["spec"]["ports"] if p["port"] == port)
        component = service["spec"]["selector"]["app.kubernetes.io/component"]
        return component, target.get("targetPort", port)


REF_KINDS = {"configMapRef": "ConfigMap", "secretRef": "Secret"}


@pytest.fixture(scope="module")
def database(database_server_url: str) -> Iterator[str]:
    """A fresh, empty Postgres database for this module's release."""
    name = f"parley_image_{uuid.uuid4().hex[:8]}"
    yield create_database(database_server_url, name)
    drop_database(database_server_url, name)


@pytest.fixture(scope="module")
def chart(database: str, redis_url: str, tmp_path_factory) -> Chart:
    """``helm template``: the built image; the Secret's URLs are the loopback Postgres/Redis."""
    layer_url = with_redis_db(redis_url, REDIS_DB)
    redis.Redis.from_url(layer_url).flushdb()
    values = {
        "image": {"repository": REPOSITORY, "tag": TAG},
        "config": {"allowedHosts": ["127.0.0.1", "localhost"]},
        "secrets": {"databaseUrl": database, "redisUrl": layer_url},
    }
    home = tmp_path_factory.mktemp("helm")
    (home / "values.yaml").write_text(yaml.safe_dump(values))
    homes = ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME")
    helm_env = {**os.environ, **{name: str(home / name) for name in homes}}
    rendered = subprocess.run(
        [find_tool("helm"), "template", RELEASE, str(CHART), "-f", str(home / "values.yaml")],
        capture_output=True, text=True, env=helm_env, check=False,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    return Chart([doc for doc in yaml.safe_load_all(rendered.stdout) if doc])


# ------------------------------------------------------------------ pod spec -> docker run

QUANTITY = re.compile(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?")
UNIT = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
UNIT |= {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity_bytes(quantity: str | int) -> int:
    """A Kubernetes memory quantity (``64Mi``, ``1G``) in bytes."""
    match = QUANTITY.fullmatch(str(quantity))
    assert match, f"unsupported quantity {quantity!r}"
    return int(float(match.group(1)) * UNIT[match.group(2)])


def security_flags(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    """User, groups, read-only root, capabilities and privilege flags of the security contexts."""
    pod_sc, sc = pod.get("securityContext", {}), container.get("securityContext", {})
    merged = {**pod_sc, **sc}
    uid, gid = merged["runAsUser"], merged.get("runAsGroup", 0)
    assert not (merged.get("runAsNonRoot") and uid == 0), "runAsNonRoot with runAsUser 0"
    assert not sc.get("privileged"), f"{container['name']} asks to be privileged"
    flags = ["--user", f"{uid}:{gid}"]
    if "fsGroup" in pod_sc:
        flags += ["--group-add", str(pod_sc["fsGroup"])]
    if sc.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    for cap in sc.get("capabilities", {}).get("drop", []):
        flags += ["--cap-drop", cap]
    for cap in sc.get("capabilities", {}).get("add", []):
        flags += ["--cap-add", cap]
    if sc.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    # seccompProfile RuntimeDefault is docker's default profile: nothing to add.
    assert merged.get("seccompProfile", {}).get("type", "RuntimeDefault") == "RuntimeDefault"
    return flags


def volume_flags(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    """emptyDir mounts as tmpfs of their sizeLimit; other volume kinds are not expected."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    flags = []
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        assert "emptyDir" in volume, f"volume {volume} is not an emptyDir: not translated"
        size = volume["emptyDir"].get("sizeLimit")
        options = "rw,nosuid,nodev,mode=1777" + (f",size={quantity_bytes(size)}" if size else "")
        flags += ["--tmpfs", f"{mount['mountPath']}:{options}"]
    return flags


def cpu_cores(quantity: str | int | float) -> float:
    """A Kubernetes CPU quantity (``500m``, ``1``) in cores."""
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def limit_flags(container: dict[str, Any]) -> list[str]:
    """The memory and CPU limits (cgroup limits, as the kubelet sets them)."""
    limits = container.get("resources", {}).get("limits", {})
    flags = ["--memory", str(quantity_bytes(limits["memory"]))] if "memory" in limits else []
    return flags + (["--cpus", str(cpu_cores(limits["cpu"]))] if "cpu" in limits else [])


def remap_ports(argv: list[str], env: dict[str, str], ports: dict[int, int]) -> list[str]:
    """Rewrite each container port to its host port where the process takes it (env in place).

    daphne ``--port N``, gunicorn ``--bind HOST:N``, and PORT/METRICS_PORT. Every container
    port must be found in at least one of them, or the server would not move.
    """
    argv = list(argv)
    for container_port, host_port in ports.items():
        hits = 0
        for i in range(1, len(argv)):
            if argv[i - 1] in ("--port", "-p") and argv[i] == str(container_port):
                argv[i], hits = str(host_port), hits + 1
            elif argv[i - 1] in ("--bind", "-b") and argv[i].endswith(f":{container_port}"):
                argv[i], hits = argv[i].rsplit(":", 1)[0] + f":{host_port}", hits + 1
        for name in ("PORT", "METRICS_PORT"):
            if env.get(name) == str(container_port):
                env[name], hits = str(host_port), hits + 1
        assert hits, f"container port {container_port} is taken from nowhere in {argv} or env"
    return argv


@dataclass
class Container:
    """One rendered container, translated to a ``docker run`` on the host network."""

    name: str
    pod: dict[str, Any]
    spec: dict[str, Any]
    env: dict[str, str]
    argv: list[str]
    ports: dict[int, int]  # containerPort -> host port

    @classmethod
    def from_chart(cls, chart: Chart, kind: str, workload: str, name: str) -> Container:
        """Translate a Deployment/Job/Pod's container; give each of its ports a free host port."""
        pod, spec = chart.pod(kind, workload)
        assert spec["image"] == IMAGE, f"{workload} runs {spec['image']}, not the built image"
        env = chart.environment(spec)
        ports = {p["containerPort"]: free_port() for p in spec.get("ports", [])}
        argv = remap_ports([*spec.get("command", []), *spec.get("args", [])], env, ports)
        return cls(f"parley-test-{name}-{uuid.uuid4().hex[:6]}", pod, spec, env, argv, ports)

    def run_args(self, env_file: Path, *, detach: bool) -> list[str]:
        """The ``docker run`` arguments (the environment goes through a 0600 file)."""
        lines = [f"{k}={v}" for k, v in self.env.items()]
        assert not any("\n" in line for line in lines), "multi-line env values are not supported"
        env_file.write_text("\n".join(lines) + "\n")
        env_file.chmod(0o600)
        entrypoint = ["--entrypoint", self.argv[0]] if self.spec.get("command") else []
        command = self.argv[1:] if entrypoint else self.argv
        # Docker's own HEALTHCHECK (Kubernetes ignores it) runs every second, not every 30 s.
        mode = ["--detach", "--health-interval", "1s"] if detach else ["--rm"]
        return [
            "run", *mode, "--name", self.name, "--network", "host", "--env-file", str(env_file),
            *security_flags(self.pod, self.spec), *volume_flags(self.pod, self.spec),
            *limit_flags(self.spec), *entrypoint, IMAGE, *command,
        ]  # fmt: skip

    def host_port(self, port: int | str) -> int:
        """The host port of a container port, by number or by name."""
        if isinstance(port, str):
            port = next(p["containerPort"] for p in self.spec["ports"] if p["name"] == port)
        return self.ports[port]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` of the first container port."""
        return f"http://127.0.0.1:{next(iter(self.ports.values()))}"

    @property
    def grace_seconds(self) -> int:
        """terminationGracePeriodSeconds (Kubernetes' default: 30)."""
        return self.pod.get("terminationGracePeriodSeconds", 30)


def probe_passes(container: Container, probe: dict[str, Any]) -> bool:
    """One try of an httpGet probe as the kubelet makes it (success: 200-399)."""
    http = probe["httpGet"]
    assert http.get("scheme", "HTTP") == "HTTP", "only HTTP probes are translated"
    url = f"http://127.0.0.1:{container.host_port(http['port'])}{http['path']}"
    headers = {h["name"]: h["value"] for h in http.get("httpHeaders", [])}
    try:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=probe.get("timeoutSeconds", 1)) as response:
            return 200 <= response.status < 400
    except OSError:
        return False


PROBES = ("startupProbe", "livenessProbe", "readinessProbe")


class Runner:
    """Starts translated containers on the private engine; keeps their logs; removes them."""

    def __init__(self, docker: Docker, workdir: Path) -> None:
        self.docker, self.workdir, self.started = docker, workdir, []

    def start(self, container: Container) -> Container:
        """``docker run --detach`` the container."""
        self.docker(*container.run_args(self.workdir / f"{container.name}.env", detach=True))
        self.started.append(container)
        return container

    def run(self, container: Container, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run the container to completion (``--rm``); its output is kept as an artifact."""
        args = container.run_args(self.workdir / f"{container.name}.env", detach=False)
        result = self.docker(*args, timeout=timeout, check=False)
        (ARTIFACTS / f"{container.name}.log").write_text(result.stdout + result.stderr)
        return result

    def state(self, container: Container) -> dict[str, Any]:
        """``docker inspect``'s State of the container."""
        state = self.docker("inspect", "--format", "{{json .State}}", container.name)
        return json.loads(state.stdout)

    def logs(self, container: Container, lines: int = 40) -> str:
        """The container's last output lines."""
        out = self.docker("logs", "--tail", str(lines), container.name, check=False)
        return out.stdout + out.stderr

    def wait_probes(self, container: Container, timeout: float = READY_TIMEOUT_S) -> None:
        """Wait until every probe of the container's spec passes; fail with its logs if not."""
        probes = [container.spec[p] for p in PROBES if p in container.spec]
        deadline = time.monotonic() + timeout
        while not all(probe_passes(container, probe) for probe in probes):
            state = self.state(container)
            if not state["Running"] or time.monotonic() > deadline:
                raise AssertionError(
                    f"{container.name} not ready (state {state['Status']}, exit "
                    f"{state['ExitCode']}):\n{self.logs(container)}"
                )
            time.sleep(0.25)

    def remove_all(self) -> None:
        """Keep each container's log under test-artifacts/, then remove it (SIGKILL)."""
        for container in self.started:
            (ARTIFACTS / f"{container.name}.log").write_text(self.logs(container, lines=2000))
            self.docker("rm", "--force", container.name, check=False)


@dataclass
class Release:
    """The running release: the migrate Job's result and the long-running containers."""

    migrate: subprocess.CompletedProcess
    worker: Container
    ws_a: Container
    ws_b: Container
    web: Container


@pytest.fixture(scope="module")
def runner(docker: Docker, image: str, tmp_path_factory) -> Iterator[Runner]:
    """A container runner for this module; removes what it started."""
    started = Runner(docker, tmp_path_factory.mktemp("containers"))
    yield started
    started.remove_all()


@pytest.fixture(scope="module")
def release(runner: Runner, chart: Chart) -> Release:
    """The migrate Job, then a worker, two ws and a web container, all ready."""
    migrate = runner.run(Container.from_chart(chart, "Job", f"{RELEASE}-migrate", "migrate"))
    if migrate.returncode != 0:
        pytest.fail(f"the migrate Job failed ({migrate.returncode}):\n{migrate.stderr[-3000:]}")
    started = Release(
        migrate,
        worker=runner.start(Container.from_chart(chart, "Deployment", f"{RELEASE}-worker", "wk")),
        ws_a=runner.start(Container.from_chart(chart, "Deployment", f"{RELEASE}-ws", "ws-a")),
        ws_b=runner.start(Container.from_chart(chart, "Deployment", f"{RELEASE}-ws", "ws-b")),
        web=runner.start(Container.from_chart(chart, "Deployment", f"{RELEASE}-web", "web")),
    )
    for container in (started.worker, started.ws_a, started.ws_b, started.web):
        runner.wait_probes(container)
    return started


def terminate(runner: Runner, container: Container) -> tuple[int, float]:
    """Stop a container as the kubelet stops a pod: the preStop hook, then SIGTERM.

    The grace period counts from the start of the hook; ``docker stop --time`` sends SIGTERM and,
    when the rest of it has run out, SIGKILL (exit code 137). Returns (exit code, seconds).
    """
    started = time.monotonic()
    hook = container.spec.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
    if hook:
        runner.docker("exec", container.name, *hook, timeout=container.grace_seconds)
    left = max(1, round(container.grace_seconds - (time.monotonic() - started)))
    runner.docker("stop", "--time", str(left), container.name, timeout=left + 30)
    elapsed = time.monotonic() - started
    state = runner.state(container)
    assert not state["OOMKilled"], f"{container.name} was killed for memory"
    return state["ExitCode"], elapsed


# ------------------------------------------------------------------ the Dockerfile


def test_dockerfile_passes_hadolint():
    result = subprocess.run(
        [find_tool("hadolint"), str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_passes_checkov_with_reasoned_skips_only():
    result = subprocess.run(
        [find_tool("checkov"), "--skip-download", "--framework", "dockerfile",
         "-f", str(ROOT / "Dockerfile"), "--output", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [c["check_id"] for r in reports for c in r["results"]["failed_checks"]]
    skipped = [c for r in reports for c in r["results"]["skipped_checks"]]
    assert not failed, f"checkov failed checks: {failed}"
    assert sum(r["summary"]["passed"] for r in reports) > 50
    for check in skipped:
        assert len(check["check_result"].get("suppress_comment", "")) > 20, check["check_id"]


def test_image_config(docker, image):
    config = json.loads(docker("inspect", "--format", "{{json .Config}}", image).stdout)
    env = dict(item.split("=", 1) for item in config["Env"])
    assert config["User"] == "10001:10001"
    assert config["WorkingDir"] == "/app"
    assert "8000/tcp" in config["ExposedPorts"]
    assert not config.get("Entrypoint"), "the role is the command: no entrypoint to wrap it"
    # Exec form: the server (daphne's command line) is PID 1 and gets SIGTERM, no sh in between.
    assert config["Cmd"][:4] == ["python", "-m", "app.ops.interface_server", "--bind"]
    assert config["Cmd"][-1] == "app.config.asgi:application"
    assert config["Healthcheck"]["Test"][:2] == ["CMD", "python"]
    assert env["DJANGO_SETTINGS_MODULE"] == "app.config.settings.production"
    assert (env["PYTHONUNBUFFERED"], env["PORT"]) == ("1", "8000")
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert env["HOME"] == "/tmp", "the only writable directory under a read-only root"
    assert not {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} & env.keys()
    for label in ("title", "source", "version", "revision", "licenses"):
        assert config["Labels"].get(f"org.opencontainers.image.{label}")
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout
    assert "SECRET_KEY" not in history, "the collectstatic placeholder must stay in the builder"


def test_image_holds_only_the_app_read_only_to_its_user(docker, image):
    script = (
        "import json, os; print(json.dumps([sorted(os.listdir('/app')), "
        "os.path.exists('/app/staticfiles/staticfiles.json'), os.access('/app', os.W_OK), "
        "os.access('/opt/venv/bin', os.W_OK), os.getuid(), os.getgid()]))"
    )
    out = docker("run", "--rm", "--network", "none", image, "python", "-c", script).stdout
    listing, manifest, app_writable, venv_writable, uid, gid = json.loads(out)
    assert listing == ["app", "manage.py", "requirements", "staticfiles"]  # .dockerignore
    assert manifest, "collectstatic ran at build time (whitenoise's manifest)"
    assert not app_writable, "the app user must not be able to change the code"
    assert not venv_writable
    assert (uid, gid) == (10001, 10001)


# ------------------------------------------------------------------ the chart's roles


def test_migrate_job_migrates_a_fresh_database(release, database):
    assert release.migrate.returncode == 0
    with psycopg.connect(database) as conn:
        applied = dict(conn.execute("SELECT app, count(*) FROM django_migrations GROUP BY app"))
    assert {"chat", "auth", "contenttypes", "sessions"} <= applied.keys()


def test_every_probe_of_each_role_passes(release, runner):
    containers = (release.ws_a, release.ws_b, release.web, release.worker)
    for container in containers:
        assert runner.state(container)["Running"], container.name
        for name in PROBES:
            if name in container.spec:
                assert probe_passes(container, container.spec[name]), (container.name, name)
    for container in (release.ws_a, release.ws_b, release.web):
        assert container.spec["readinessProbe"]["httpGet"]["path"] == "/readyz"


async def test_message_round_trips_through_two_ws_and_a_worker(release):
    label = create_room(release.web.url)
    # The sender opts in, so it sees the seed client on ws B join: a completed handshake
    # alone does not mean the server has joined the room yet (the consumer accepts first).
    member_a = await connect(release.ws_a.url.replace("http", "ws", 1), label, opt_in=True)
    await recv_until(member_a, "presence")
    member_b = await connect(release.ws_b.url.replace("http", "ws", 1), label)
    await recv_until(member_a, "join", timeout=10)
    text = f"through the chart {uuid.uuid4().hex[:8]}"
    await send_chat(member_a, "alice", text)
    for member in (member_a, member_b):
        (frame,) = await recv_messages(member, 1)
        assert (frame["handle"], frame["message"]) == ("alice", text)
        await member.close()
    # Delivered after the worker stored it: the web container serves it as history.
    assert text in visit_room(release.web.url, label)


def point_at_containers(argv: list[str], chart: Chart, release: Release) -> list[str]:
    """Rewrite URLs that name a Service to the host port of the container behind it."""
    behind = {"ws": release.ws_a, "web": release.web}
    rewritten = []
    for arg in argv:
        parts = urlsplit(arg)
        if parts.scheme in ("http", "ws") and parts.hostname and parts.port:
            component, target = chart.service_port(parts.hostname, parts.port)
            port = behind[component].host_port(target)
            arg = urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))
        rewritten.append(arg)
    return rewritten


def test_helm_test_pod_passes_against_the_release(release, runner, chart):
    pod = Container.from_chart(chart, "Pod", TEST_POD, "helm-test")
    pod.argv = point_at_containers(pod.argv, chart, release)
    assert any(arg.startswith("ws://127.0.0.1:") for arg in pod.argv), pod.argv
    result = runner.run(pod, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: round trip" in result.stdout


def wait_healthy(runner: Runner, container: Container, timeout: float = 15) -> str:
    """Docker's health status of the container once it is not "starting" (or at the timeout)."""
    deadline = time.monotonic() + timeout
    while (status := runner.state(container)["Health"]["Status"]) == "starting":
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)
    return status


def test_image_healthcheck_command(release, runner, docker, image):
    test = json.loads(docker("inspect", "--format", "{{json .Config.Healthcheck}}", image).stdout)
    command = test["Test"][1:]
    # ws and web answer /healthz on PORT; the worker its /metrics on METRICS_PORT.
    for container in (release.ws_a, release.web, release.worker):
        assert wait_healthy(runner, container) == "healthy", runner.state(container)["Health"]
        checked = docker("exec", container.name, *command, check=False)
        assert checked.returncode == 0, (container.name, checked.stderr)
    nothing = docker(
        "run", "--rm", "--network", "host", "--read-only", "--cap-drop", "ALL",
        "-e", f"PORT={free_port()}", image, *command, check=False,
    )  # fmt: skip
    assert nothing.returncode == 1, "unhealthy when nothing answers"


async def test_sigterm_drains_and_exits_cleanly_within_the_grace_period(release, runner, chart):
    """preStop sleep, then SIGTERM: sockets keep working during the hook, then close; exit 0.

    daphne (Twisted) stops its reactor on SIGTERM and exits 0, as gunicorn's arbiter does after
    a graceful stop, and the worker after storing what it holds; 143 would mean the signal
    killed an unprepared process, 137 the SIGKILL at the end of the grace period.
    """
    ws = runner.start(Container.from_chart(chart, "Deployment", f"{RELEASE}-ws", "ws-stop"))
    web = runner.start(Container.from_chart(chart, "Deployment", f"{RELEASE}-web", "web-stop"))
    worker = runner.start(
        Container.from_chart(chart, "Deployment", f"{RELEASE}-worker", "worker-stop")
    )
    roles = (ws, web, worker)
    for container in roles:
        await asyncio.to_thread(runner.wait_probes, container)
    label = create_room(release.web.url)
    member = await connect(ws.url.replace("http", "ws", 1), label, opt_in=True)
    await recv_until(member, "presence")  # seated in the room
    stopping = [asyncio.to_thread(terminate, runner, c) for c in roles]
    stops = asyncio.gather(*stopping)
    await asyncio.sleep(1)  # inside the preStop sleep: the server still serves its sockets
    await send_chat(member, "drain", "still here")
    assert (await recv_messages(member, 1))[0]["message"] == "still here"
    for container, (code, seconds) in zip(roles, await stops, strict=True):
        assert code == 0, f"{container.name} exited {code}:\n{runner.logs(container)}"
        assert seconds < container.grace_seconds, (container.name, seconds)
    await asyncio.wait_for(member.wait_closed(), 5)


def test_no_role_tried_to_write_to_the_read_only_root(release, runner):
    for container in runner.started:
        log = runner.logs(container, lines=5000)
        assert "Read-only file system" not in log, f"{container.name}:\n{log}"
        assert "Traceback" not in log, f"{container.name}:\n{log}"
