"""The Helm chart helm/parley, proven with helm, kubernetes-validate and checkov.

No cluster runs here: the chart is linted (--strict), rendered for the default
values and every ci/*.yaml scenario, validated against the Kubernetes OpenAPI
schemas of two minor versions, scanned by checkov, and its objects are checked
against the app's contract (commands, probes, hooks, security, routing).

helm, kubectl, kubernetes-validate and checkov are found next to this Python
(``make tools`` installs helm and kubectl into .venv/bin) or on PATH.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "parley"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
SCENARIOS: dict[str, Path | None] = {"default": None, **{p.stem: p for p in CI_VALUES}}
K8S_VERSIONS = ("1.29.0", "1.33.0")
CRD_KINDS = {"ServiceMonitor", "HTTPRoute"}
RELEASE = "parley"
NAMESPACE = "parley"
ROLES = ("ws", "web", "worker")
ALLOWED_CHECKOV_SKIPS = {
    "CKV_K8S_8",
    "CKV_K8S_9",
    "CKV_K8S_15",
    "CKV_K8S_21",
    "CKV_K8S_35",
    "CKV_K8S_43",
}


def _load_script(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


render_k8s = _load_script("render_k8s", ROOT / "scripts" / "render_k8s.py")
generate_readme = _load_script("generate_readme", ROOT / "helm" / "generate_readme.py")


# ------------------------------------------------------------------ tools


def tool(name: str) -> str:
    """Path of a CLI tool, or a failed test that says how to install it."""
    try:
        return render_k8s.find_tool(name)
    except render_k8s.HelmNotFoundError as exc:
        pytest.fail(f"{exc}; kubernetes-validate and checkov come from requirements/blueprint.txt")


def tool_env() -> dict[str, str]:
    """helm's homes in a temp dir, and helm on PATH (checkov's helm framework calls it)."""
    env = render_k8s.helm_env()
    env["PATH"] = os.pathsep.join([str(Path(tool("helm")).parent), env.get("PATH", "")])
    return env


def helm(*args: str) -> subprocess.CompletedProcess:
    """Run helm; the caller checks the return code."""
    return subprocess.run(
        [tool("helm"), *args], capture_output=True, text=True, env=tool_env(), check=False
    )


def template(*extra: str, release: str = RELEASE) -> list[dict[str, Any]]:
    """helm template the chart with extra arguments; fail the test on error."""
    result = helm("template", release, str(CHART), "--namespace", NAMESPACE, *extra)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def values_args(path: Path | None) -> list[str]:
    return ["-f", str(path)] if path else []


def find(objects: list[dict], kind: str, name: str | None = None) -> list[dict]:
    """Objects of a kind (and name)."""
    return [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def one(objects: list[dict], kind: str, name: str) -> dict:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, got {len(found)}"
    return found[0]


def pod_spec(obj: dict) -> dict:
    return obj["spec"] if obj["kind"] == "Pod" else obj["spec"]["template"]["spec"]


def workloads(objects: list[dict]) -> list[dict]:
    return [o for o in objects if o["kind"] in ("Deployment", "Job", "Pod")]


def env_of(container: dict) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Every scenario rendered once."""
    return {name: template(*values_args(path)) for name, path in SCENARIOS.items()}


@pytest.fixture(scope="module")
def default(rendered) -> list[dict[str, Any]]:
    return rendered["default"]


def write_values(tmp_path: Path, values: dict) -> Path:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


# ------------------------------------------------------------------ lint and schema


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_helm_lint_strict(scenario):
    result = helm("lint", "--strict", str(CHART), *values_args(SCENARIOS[scenario]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_chart_metadata():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["kubeVersion"].startswith(">=1.25")
    assert not chart.get("dependencies"), "Postgres and Redis are external: no subcharts"
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["additionalProperties"] is False


BAD_VALUES = {
    "negative replicas": ({"ws": {"replicaCount": -1}}, "ws.replicaCount"),
    "pullPolicy not in enum": ({"image": {"pullPolicy": "Sometimes"}}, "image.pullPolicy"),
    "unknown top-level key": ({"replicaCount": 3}, "replicaCount"),
    "unknown nested key": ({"web": {"replicas": 3}}, "replicas"),
    "resources not an object": ({"web": {"resources": "1 cpu"}}, "web.resources"),
    "resource quantity malformed": (
        {"ws": {"resources": {"limits": {"memory": "lots"}}}},
        "ws.resources.limits.memory",
    ),
    "existingSecret not a string": ({"secrets": {"existingSecret": ["a"]}}, "existingSecret"),
    "existingSecret not a DNS name": (
        {"secrets": {"existingSecret": "Bad_Name"}},
        "existingSecret",
    ),
    "logLevel not in enum": ({"config": {"logLevel": "LOUD"}}, "config.logLevel"),
    "ingress host malformed": ({"ingress": {"hosts": ["Bad_Host"]}}, "ingress.hosts"),
    "ingress enabled without hosts": ({"ingress": {"enabled": True, "hosts": []}}, "hosts"),
    "HPA CPU target over 100": (
        {"ws": {"autoscaling": {"targetCPUUtilizationPercentage": 150}}},
        "targetCPUUtilizationPercentage",
    ),
    "PDB maxUnavailable malformed": (
        {"worker": {"pdb": {"maxUnavailable": "half"}}},
        "maxUnavailable",
    ),
    "liveness successThreshold above 1": (
        {"ws": {"livenessProbe": {"successThreshold": 2}}},
        "successThreshold",
    ),
    "image digest malformed": ({"image": {"digest": "latest"}}, "image.digest"),
    "worker metrics port out of range": ({"worker": {"metricsPort": 70000}}, "metricsPort"),
    "secret env in ConfigMap extras": ({"config": {"extraEnv": {"SECRET_KEY": "x"}}}, "extraEnv"),
    "database URL scheme": ({"secrets": {"databaseUrl": "mysql://db/parley"}}, "databaseUrl"),
    "ws metrics port out of range": ({"ws": {"metricsPort": 80}}, "metricsPort"),
    "HSTS not a number": ({"security": {"hstsSeconds": "a year"}}, "hstsSeconds"),
    "admin not a boolean": ({"security": {"adminEnabled": "yes"}}, "adminEnabled"),
    "unknown security key": ({"security": {"csp": "x"}}, "csp"),
    "egress port out of range": ({"networkPolicy": {"egressPorts": [70000]}}, "egressPorts"),
    "chart-set env in ConfigMap extras": (
        {"config": {"extraEnv": {"ADMIN_ENABLED": "true"}}},
        "extraEnv",
    ),
    "anti-affinity preset not in enum": (
        {"web": {"podAntiAffinityPreset": "always"}},
        "podAntiAffinityPreset",
    ),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_schema_rejects_bad_values(case, tmp_path):
    values, mentioned = BAD_VALUES[case]
    result = helm("template", RELEASE, str(CHART), "-f", str(write_values(tmp_path, values)))
    assert result.returncode != 0, f"{case}: helm template accepted {values}"
    assert "values don't meet the specifications of the schema" in result.stderr, result.stderr
    assert mentioned in result.stderr, result.stderr


# ------------------------------------------------------------------ Kubernetes schemas


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_rendered_objects_validate_strictly(rendered, version, tmp_path):
    files = []
    for name, objects in rendered.items():
        builtin = [o for o in objects if o["kind"] not in CRD_KINDS]
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(builtin))
        files.append(str(path))
    result = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--quiet", "-k", version, *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout + result.stderr
    assert "Couldn't find schema" not in result.stdout + result.stderr


def test_crd_objects_are_well_formed(rendered):
    objects = rendered["all-options"]
    services = {s["metadata"]["name"]: s for s in find(objects, "Service")}
    monitor = one(objects, "ServiceMonitor", "parley-all")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == "monitoring"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    spec = monitor["spec"]
    assert spec["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    selected = [
        s
        for s in services.values()
        if all(
            s["metadata"]["labels"].get(k) == v for k, v in spec["selector"]["matchLabels"].items()
        )
        and s["metadata"]["labels"]["app.kubernetes.io/component"]
        in spec["selector"]["matchExpressions"][0]["values"]
    ]
    port_names = {p["name"] for s in selected for p in s["spec"]["ports"]}
    assert {e["port"] for e in spec["endpoints"]} == {"metrics"}
    assert port_names == {"http", "metrics"}  # http Services are selected but yield no target
    metrics_services = {n for n, svc in services.items() if n.endswith("-metrics")}
    assert metrics_services == {f"parley-all-{role}-metrics" for role in ROLES}
    assert all(e["path"] == "/metrics" and e["interval"] == "15s" for e in spec["endpoints"])

    for name, scenario in (("parley", "gateway-api"), ("parley-all", "all-options")):
        route = one(rendered[scenario], "HTTPRoute", name)
        assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
        assert route["spec"]["parentRefs"]
        assert route["spec"]["hostnames"]
        rules = {r["matches"][0]["path"]["value"]: r for r in route["spec"]["rules"]}
        assert set(rules) == {"/chat/", "/"}
        assert all(r["matches"][0]["path"]["type"] == "PathPrefix" for r in rules.values())
        svc = {s["metadata"]["name"]: s for s in find(rendered[scenario], "Service")}
        for path, role in (("/chat/", "ws"), ("/", "web")):
            backend = rules[path]["backendRefs"][0]
            assert backend["name"] == f"{name}-{role}"
            assert backend["port"] == svc[backend["name"]]["spec"]["ports"][0]["port"]
    gateway = one(rendered["gateway-api"], "HTTPRoute", "parley")
    assert gateway["spec"]["rules"][0]["timeouts"] == {"request": "0s"}
    config = one(rendered["gateway-api"], "ConfigMap", "parley")["data"]
    assert "chat.example.com" in config["ALLOWED_HOSTS"].split(",")
    assert config["CSRF_TRUSTED_ORIGINS"] == "https://chat.example.com"


# ------------------------------------------------------------------ roles and the app's contract


def test_each_role_runs_its_contract_command(default):
    ws = pod_spec(one(default, "Deployment", "parley-ws"))["containers"][0]
    assert ws["command"] == [
        "python", "-m", "app.ops.interface_server",
        "--bind", "0.0.0.0", "--port", "8000", "--proxy-headers",  # noqa: S104
        "--ping-interval", "20", "--ping-timeout", "30",
        "--websocket-max-message-size", "65536",
        "--application-close-timeout", "10", "app.config.asgi:application",
    ]  # fmt: skip
    web = pod_spec(one(default, "Deployment", "parley-web"))["containers"][0]
    assert web["command"] == [
        "gunicorn", "app.config.wsgi:application", "--bind", "0.0.0.0:8000",
        "--workers", "2", "--worker-tmp-dir", "/tmp", "--access-logfile", "-",
    ]  # fmt: skip
    worker = pod_spec(one(default, "Deployment", "parley-worker"))["containers"][0]
    assert worker["command"] == ["python", "manage.py", "runworker", "chat.persist"]
    metrics_port = {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}
    assert worker["ports"] == [metrics_port]
    for container in (ws, web):
        assert container["ports"] == [
            {"name": "http", "containerPort": 8000, "protocol": "TCP"},
            metrics_port,
        ]
    for container in (ws, web, worker):
        assert env_of(container)["METRICS_PORT"] == "9100"
    for container in (ws, web, worker):
        assert container["image"] == "ghcr.io/parley-chat/parley:0.1.0"


def test_probes(rendered):
    for name, objects in rendered.items():
        prefix = "parley-all" if name == "all-options" else "parley"
        for role in ("ws", "web"):
            container = pod_spec(one(objects, "Deployment", f"{prefix}-{role}"))["containers"][0]
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["livenessProbe"]["httpGet"]["port"] == "http"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["readinessProbe"]["httpGet"]["port"] == "http"
            if name != "no-autoscaling":
                assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        worker = pod_spec(one(objects, "Deployment", f"{prefix}-worker"))["containers"][0]
        assert worker["livenessProbe"]["httpGet"]["path"] == "/metrics"
        assert worker["livenessProbe"]["httpGet"]["port"] == "metrics"
    no_startup = pod_spec(one(rendered["no-autoscaling"], "Deployment", "parley-ws"))
    assert "startupProbe" not in no_startup["containers"][0]


def test_draining_on_sigterm(default, rendered):
    grace = {}
    for role in ROLES:
        spec = pod_spec(one(default, "Deployment", f"parley-{role}"))
        grace[role] = spec["terminationGracePeriodSeconds"]
        pre_stop = spec["containers"][0].get("lifecycle", {}).get("preStop")
        if role == "worker":
            assert pre_stop is None
        else:
            assert pre_stop == {"exec": {"command": ["sleep", "10"]}}
            assert grace[role] > 10, "the grace period must cover the preStop sleep"
    assert grace["ws"] == 60
    ws_all = pod_spec(one(rendered["all-options"], "Deployment", "parley-all-ws"))
    assert ws_all["terminationGracePeriodSeconds"] == 120
    assert ws_all["containers"][0]["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "15"]


def test_restricted_security_context_everywhere(rendered):
    for name, objects in rendered.items():
        for obj in workloads(objects):
            where = f"{name}: {obj['kind']}/{obj['metadata']['name']}"
            spec = pod_spec(obj)
            pod = spec["securityContext"]
            assert pod["runAsNonRoot"] is True, where
            assert pod["runAsUser"] == 10001, where
            assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert spec["automountServiceAccountToken"] is False, where
            assert any(v["name"] == "tmp" and "emptyDir" in v for v in spec["volumes"]), where
            for container in spec["containers"]:
                sc = container["securityContext"]
                assert sc["runAsNonRoot"] is True, where
                assert sc["runAsUser"] == 10001, where
                assert sc["readOnlyRootFilesystem"] is True, where
                assert sc["allowPrivilegeEscalation"] is False, where
                assert sc["privileged"] is False, where
                assert sc["capabilities"] == {"drop": ["ALL"]}, where
                assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
                assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], where
                resources = container["resources"]
                for kind in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(resources[kind]), f"{where} {kind}"
    for sa in find(rendered["default"], "ServiceAccount"):
        assert sa["automountServiceAccountToken"] is False


def test_scheduling_presets(default, rendered):
    for role in ROLES:
        spec = pod_spec(one(default, "Deployment", f"parley-{role}"))
        term = spec["affinity"]["podAntiAffinity"][
            "preferredDuringSchedulingIgnoredDuringExecution"
        ][0]
        selector = one(default, "Deployment", f"parley-{role}")["spec"]["selector"]["matchLabels"]
        assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == selector
        spread = spec["topologySpreadConstraints"][0]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone"
        assert spread["labelSelector"]["matchLabels"] == selector
    hard = pod_spec(one(rendered["all-options"], "Deployment", "parley-all-ws"))
    assert "requiredDuringSchedulingIgnoredDuringExecution" in hard["affinity"]["podAntiAffinity"]
    assert hard["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "DoNotSchedule"
    none = pod_spec(one(rendered["no-autoscaling"], "Deployment", "parley-web"))
    assert "affinity" not in none
    assert "topologySpreadConstraints" not in none


def test_selectors_match_services_and_pods(rendered):
    for name, objects in rendered.items():
        pods = {
            d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
            for d in find(objects, "Deployment")
        }
        for svc in find(objects, "Service"):
            matched = [
                n for n, labels in pods.items() if svc["spec"]["selector"].items() <= labels.items()
            ]
            assert len(matched) == 1, f"{name}: Service {svc['metadata']['name']} selects {matched}"
            target = next(
                d for d in find(objects, "Deployment") if d["metadata"]["name"] == matched[0]
            )
            names = {p["name"] for p in pod_spec(target)["containers"][0]["ports"]}
            assert {p["targetPort"] for p in svc["spec"]["ports"]} <= names


# ------------------------------------------------------------------ hooks


def test_migrations_hook_job(default):
    job = one(default, "Job", "parley-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert set(annotations["helm.sh/hook-delete-policy"].split(",")) == {
        "before-hook-creation",
        "hook-succeeded",
    }
    assert job["spec"]["backoffLimit"] == 3
    assert job["spec"]["activeDeadlineSeconds"] == 600
    spec = pod_spec(job)
    assert spec["restartPolicy"] == "Never"
    container = spec["containers"][0]
    assert container["command"] == ["python", "manage.py", "migrate", "--noinput"]
    env = env_of(container)
    # A pre-install hook runs before the release's ConfigMap and Secret exist.
    assert "envFrom" not in container
    assert env["DJANGO_SETTINGS_MODULE"] == "app.config.settings.production"
    assert env["DEBUG"] == "false"
    for key in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        assert env[key]["secretKeyRef"] == {"name": "parley-migrate", "key": key}
    weight = int(annotations["helm.sh/hook-weight"])
    for kind in ("Secret", "ServiceAccount"):
        twin = one(default, kind, "parley-migrate")["metadata"]["annotations"]
        assert twin["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert int(twin["helm.sh/hook-weight"]) < weight
    assert spec["serviceAccountName"] == "parley-migrate"
    main, hook = one(default, "Secret", "parley"), one(default, "Secret", "parley-migrate")
    assert main["data"] == hook["data"], "the hook's copy must hold the same secrets"


def test_helm_test_pod_round_trips_a_message(default):
    pod = one(default, "Pod", "parley-test-chat-roundtrip")
    annotations = pod["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "test"
    assert "hook-succeeded" in annotations["helm.sh/hook-delete-policy"]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["containers"][0]["command"] == [
        "python", "manage.py", "smoke",
        "--base-url", "http://parley-web:8000", "--ws-url", "ws://parley-ws:8000",
    ]  # fmt: skip
    assert find(default, "Service", "parley-web")
    assert find(default, "Service", "parley-ws")
    hosts = one(default, "ConfigMap", "parley")["data"]["ALLOWED_HOSTS"].split(",")
    assert {"parley-web", "parley-ws", "localhost"} <= set(hosts)


# ------------------------------------------------------------------ scaling and disruption


def test_hpa_per_role(rendered):
    default = rendered["default"]
    for role in ROLES:
        hpa = one(default, "HorizontalPodAutoscaler", f"parley-{role}")
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": f"parley-{role}",
        }
        assert hpa["spec"]["minReplicas"] >= 2
        assert hpa["spec"]["metrics"] == [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70},
                },
            }
        ]
        assert "replicas" not in one(default, "Deployment", f"parley-{role}")["spec"]
    custom = rendered["autoscaling-custom-metric"]
    ws_metrics = one(custom, "HorizontalPodAutoscaler", "parley-ws")["spec"]["metrics"]
    assert {
        "type": "Pods",
        "pods": {
            "metric": {"name": "parley_websocket_connections"},
            "target": {"type": "AverageValue", "averageValue": "5000"},
        },
    } in ws_metrics
    assert any(m["type"] == "Resource" for m in ws_metrics)
    worker_metrics = one(custom, "HorizontalPodAutoscaler", "parley-worker")["spec"]["metrics"]
    assert [m["pods"]["metric"]["name"] for m in worker_metrics] == ["parley_persist_queue_depth"]
    fixed = rendered["no-autoscaling"]
    assert not find(fixed, "HorizontalPodAutoscaler")
    assert not find(fixed, "PodDisruptionBudget")
    for role in ROLES:
        assert one(fixed, "Deployment", f"parley-{role}")["spec"]["replicas"] == 1


def test_pdb_per_role(rendered):
    for role in ROLES:
        pdb = one(rendered["default"], "PodDisruptionBudget", f"parley-{role}")
        assert pdb["apiVersion"] == "policy/v1"
        assert pdb["spec"]["maxUnavailable"] == 1
        assert "minAvailable" not in pdb["spec"]
        deployment = one(rendered["default"], "Deployment", f"parley-{role}")
        assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
    all_options = rendered["all-options"]
    assert one(all_options, "PodDisruptionBudget", "parley-all-ws")["spec"] == {
        "minAvailable": "50%",
        "selector": one(all_options, "Deployment", "parley-all-ws")["spec"]["selector"],
    }
    assert (
        one(all_options, "PodDisruptionBudget", "parley-all-worker")["spec"]["maxUnavailable"]
        == "25%"
    )


# ------------------------------------------------------------------ configuration and secrets


def test_config_map_holds_the_environment_contract(default):
    data = one(default, "ConfigMap", "parley")["data"]
    assert data == {
        "DJANGO_SETTINGS_MODULE": "app.config.settings.production",
        "ALLOWED_HOSTS": "localhost,127.0.0.1,parley-ws,parley-web",
        "CSRF_TRUSTED_ORIGINS": "",
        "DEBUG": "false",
        "PORT": "8000",
        "LOG_LEVEL": "INFO",
        "WEBSOCKET_PING_INTERVAL": "20",
        "ADMIN_ENABLED": "false",
        "SECURE_HSTS_SECONDS": "31536000",
    }
    for role in ROLES:
        container = pod_spec(one(default, "Deployment", f"parley-{role}"))["containers"][0]
        assert container["envFrom"] == [{"configMapRef": {"name": "parley"}}]
        env = env_of(container)
        for key in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
            assert env[key]["secretKeyRef"] == {"name": "parley", "key": key}


def test_generated_secret_key_is_shared_and_long(default):
    import base64

    data = one(default, "Secret", "parley")["data"]
    assert set(data) == {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}
    assert len(base64.b64decode(data["SECRET_KEY"])) == 64


def test_existing_secret_switches_off_chart_secrets(rendered):
    objects = rendered["existing-secret"]
    assert not find(objects, "Secret"), "no Secret (nor its hook copy) with existingSecret"
    keys = {
        "SECRET_KEY": "django-secret-key",
        "DATABASE_URL": "database-url",
        "REDIS_URL": "redis-url",
    }
    for obj in workloads(objects):
        env = env_of(pod_spec(obj)["containers"][0])
        for name, key in keys.items():
            assert env[name]["secretKeyRef"] == {"name": "parley-credentials", "key": key}
    data = one(objects, "ConfigMap", "parley")["data"]
    assert data["ALLOWED_HOSTS"].startswith("chat.internal.example.com,")
    assert data["CSRF_TRUSTED_ORIGINS"] == "https://chat.internal.example.com"


def checksums(objects: list[dict], role: str = "ws") -> dict[str, str]:
    annotations = one(objects, "Deployment", f"parley-{role}")["spec"]["template"]["metadata"][
        "annotations"
    ]
    return {k: v for k, v in annotations.items() if k.startswith("checksum/")}


def test_checksum_annotations_roll_pods_on_change(rendered, tmp_path):
    base_values = SCENARIOS["existing-secret"]
    base = checksums(rendered["existing-secret"])
    assert set(base) == {"checksum/config", "checksum/secret"}
    for role in ROLES:
        assert checksums(rendered["existing-secret"], role) == base
    changed = checksums(template("-f", str(base_values), "--set", "config.logLevel=DEBUG"))
    assert changed["checksum/config"] != base["checksum/config"]
    assert changed["checksum/secret"] == base["checksum/secret"]
    renamed = checksums(template("-f", str(base_values), "--set", "secrets.existingSecret=other"))
    assert renamed["checksum/secret"] != base["checksum/secret"]
    assert renamed["checksum/config"] == base["checksum/config"]
    tls = SCENARIOS["ingress-tls"]
    before = checksums(rendered["ingress-tls"])
    after = checksums(template("-f", str(tls), "--set", "secrets.redisUrl=redis://other:6379/0"))
    assert after["checksum/secret"] != before["checksum/secret"]
    assert after["checksum/config"] == before["checksum/config"]
    again = checksums(template("-f", str(tls)))
    assert again == before, "checksums must be stable for the same values"


# ------------------------------------------------------------------ exposure


def test_ingress_routes_chat_to_interface_servers(rendered):
    objects = rendered["ingress-tls"]
    ingress = one(objects, "Ingress", "parley")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"
    assert annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "3600"
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt"
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [
        {"hosts": ["chat.example.com", "www.chat.example.com"], "secretName": "parley-chat-tls"}
    ]
    assert [r["host"] for r in spec["rules"]] == ["chat.example.com", "www.chat.example.com"]
    for rule in spec["rules"]:
        paths = {p["path"]: p for p in rule["http"]["paths"]}
        assert list(paths) == ["/chat/", "/"], "the more specific path first"
        assert paths["/chat/"]["pathType"] == "Prefix"
        assert paths["/chat/"]["backend"]["service"] == {
            "name": "parley-ws",
            "port": {"name": "http"},
        }
        assert paths["/"]["backend"]["service"] == {"name": "parley-web", "port": {"name": "http"}}
    data = one(objects, "ConfigMap", "parley")["data"]
    assert data["ALLOWED_HOSTS"].split(",")[:2] == ["chat.example.com", "www.chat.example.com"]
    assert data["CSRF_TRUSTED_ORIGINS"] == "https://chat.example.com,https://www.chat.example.com"
    assert not find(rendered["default"], "Ingress"), "the Ingress is opt-in"


def policies_of(objects: list[dict], prefix: str = "parley") -> dict[str, dict]:
    """The NetworkPolicies' specs by role ("release" for the one over every pod)."""
    found = {p["metadata"]["name"]: p["spec"] for p in find(objects, "NetworkPolicy")}
    return {
        ("release" if name == prefix else name.removeprefix(f"{prefix}-")): spec
        for name, spec in found.items()
    }


def test_network_policies_admit_only_what_each_role_needs(default):
    policies = policies_of(default)
    release = policies["release"]

    assert set(policies) == {"release", "ws", "web", "worker"}
    assert release["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "parley",
        "app.kubernetes.io/instance": "parley",
    }
    assert release["policyTypes"] == ["Ingress", "Egress"]
    assert release["ingress"] == [], "no pod accepts anything its role does not need"
    assert {} not in release["egress"], "egress is not open by default"
    egress_ports = [(p["port"], p["protocol"]) for rule in release["egress"] for p in rule["ports"]]
    assert set(egress_ports) == {(53, "UDP"), (53, "TCP"), (5432, "TCP"), (6379, "TCP"),
                                 (6380, "TCP"), ("http", "TCP")}  # fmt: skip
    ingress_nginx = {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    monitoring = {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    helm_test = {"matchLabels": {**release["podSelector"]["matchLabels"],
                                 "app.kubernetes.io/component": "test"}}  # fmt: skip
    for role in ROLES:
        spec = policies[role]
        assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == role
        assert spec["policyTypes"] == ["Ingress"]
        rules = {rule["ports"][0]["port"]: rule for rule in spec["ingress"]}
        assert all(rule.get("from") for rule in rules.values()), f"{role}: a rule admits anyone"
        assert rules["metrics"]["from"] == [{"namespaceSelector": monitoring}]
        if role == "worker":
            assert set(rules) == {"metrics"}, "workers take no HTTP"
        else:
            assert set(rules) == {"http", "metrics"}
            assert rules["http"]["from"] == [
                {"namespaceSelector": ingress_nginx},
                {"podSelector": helm_test},
            ]


def test_network_policies_relax_value_by_value(rendered, tmp_path):
    strict = policies_of(rendered["all-options"], "parley-all")
    assert {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]} in strict[
        "release"
    ]["egress"]
    assert any(
        rule.get("to", [{}])[0].get("ipBlock") == {"cidr": "10.0.0.0/16"}
        for rule in strict["release"]["egress"]
    ), "extraEgress"
    values = write_values(tmp_path, {"networkPolicy": {"allowExternal": True,
                                                       "allowExternalEgress": True}})  # fmt: skip
    relaxed = policies_of(template("-f", str(values)))
    assert relaxed["release"]["egress"] == [{}]
    for role in ("ws", "web"):
        http = next(r for r in relaxed[role]["ingress"] if r["ports"][0]["port"] == "http")
        assert "from" not in http, "allowExternal admits HTTP from anywhere"
    assert not find(rendered["no-autoscaling"], "NetworkPolicy")


def test_metrics_are_never_behind_the_ingress_or_the_route(rendered):
    for name, objects in rendered.items():
        services = {svc["metadata"]["name"]: svc for svc in find(objects, "Service")}
        routed = [
            (path["backend"]["service"]["name"], path["backend"]["service"]["port"])
            for ingress in find(objects, "Ingress")
            for rule in ingress["spec"]["rules"]
            for path in rule["http"]["paths"]
        ]
        routed += [
            (ref["name"], {"number": ref["port"]})
            for route in find(objects, "HTTPRoute")
            for rule in route["spec"]["rules"]
            for ref in rule["backendRefs"]
        ]
        for service, port in routed:
            ports = services[service]["spec"]["ports"]
            target = next(p for p in ports if port in ({"name": p["name"]}, {"number": p["port"]}))
            assert target["targetPort"] == "http", f"{name}: {service} routes {target}"
            assert all(p["targetPort"] != "metrics" for p in ports), f"{name}: {service}"


def test_security_defaults_and_the_values_that_relax_them(default, tmp_path):
    config = one(default, "ConfigMap", "parley")["data"]
    assert config["ADMIN_ENABLED"] == "false"
    assert config["SECURE_HSTS_SECONDS"] == "31536000"
    assert "CONTENT_SECURITY_POLICY" not in config, "the app's own policy applies"
    off = {"adminEnabled": True, "hstsSeconds": 0, "contentSecurityPolicy": {"enabled": False}}
    relaxed = write_values(tmp_path, {"security": off})
    data = one(template("-f", str(relaxed)), "ConfigMap", "parley")["data"]
    assert (data["ADMIN_ENABLED"], data["SECURE_HSTS_SECONDS"]) == ("true", "0")
    assert data["CONTENT_SECURITY_POLICY"] == ""
    policy = "default-src 'self'; connect-src 'self' {websocket}"
    own = write_values(tmp_path, {"security": {"contentSecurityPolicy": {"policy": policy}}})
    data = one(template("-f", str(own)), "ConfigMap", "parley")["data"]
    assert data["CONTENT_SECURITY_POLICY"] == policy


def test_names_are_truncated_to_63_characters():
    long_release = "a-long-release-name-for-a-parley-chat-deployment-here"  # 53, helm's maximum
    assert len(long_release) == 53
    enable = ["--set", "ingress.enabled=true", "--set", "metrics.serviceMonitor.enabled=true",
              "--set", "httpRoute.enabled=true"]  # fmt: skip
    objects = template(*enable, release=long_release)
    objects += template(*enable, "--set", f"fullnameOverride={'x' * 63}")
    assert any(len(o["metadata"]["name"]) == 63 for o in objects), "truncation was exercised"
    for obj in objects:
        assert len(obj["metadata"]["name"]) <= 63, obj["metadata"]["name"]
        assert not obj["metadata"]["name"].endswith("-")
        for value in obj["metadata"]["labels"].values():
            assert len(value) <= 63


# ------------------------------------------------------------------ documentation


def test_every_param_is_in_the_readme():
    text = (CHART / "values.yaml").read_text()
    sections = generate_readme.parse_tags(text)
    readme = (CHART / "README.md").read_text()
    params = [key for section in sections for key, _ in section.params]
    assert len(params) > 150
    for key in params:
        assert f"| `{key}` |" in readme, f"@param {key} is missing from README.md"
    assert not generate_readme.undocumented(sections, yaml.safe_load(text))
    current, fresh = generate_readme.build_readme(CHART)
    assert current == fresh, "README.md is stale: run python helm/generate_readme.py"


def render_notes(tmp_path: Path, *extra: str) -> str:
    """NOTES.txt as helm would print it (helm install --dry-run needs a cluster here)."""
    chart = tmp_path / "parley"
    shutil.copytree(CHART, chart)
    shutil.copy(CHART / "templates" / "NOTES.txt", chart / "notes.txt")
    (chart / "templates" / "zz-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n"
        'data:\n  notes: {{ tpl (.Files.Get "notes.txt") . | quote }}\n'
    )
    result = helm("template", RELEASE, str(chart), "--namespace", NAMESPACE, *extra,
                  "--show-only", "templates/zz-notes.yaml")  # fmt: skip
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["data"]["notes"]


def test_notes_say_how_to_reach_and_test(tmp_path):
    notes = render_notes(tmp_path / "tls", "-f", str(SCENARIOS["ingress-tls"]))
    assert "https://chat.example.com/" in notes
    assert "helm test parley -n parley" in notes
    assert "WARNING" not in notes
    notes = render_notes(tmp_path / "default")
    assert "port-forward svc/parley-web" in notes
    assert "WARNING: secrets.databaseUrl and/or secrets.redisUrl are empty" in notes


# ------------------------------------------------------------------ checkov


def run_checkov(*args: str) -> dict:
    result = subprocess.run(
        [tool("checkov"), "--skip-download", "-o", "json", *args],
        capture_output=True,
        text=True,
        env=tool_env(),
        cwd=ROOT,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON report:\n{result.stdout}\n{result.stderr}")
    report = report[0] if isinstance(report, list) else report
    assert report.get("summary", {}).get("resource_count", 0) > 0, result.stderr
    return report


def assert_skips_have_reasons(report: dict) -> None:
    for skipped in report["results"]["skipped_checks"]:
        reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
        assert skipped["check_id"] in ALLOWED_CHECKOV_SKIPS, skipped["check_id"]
        assert len(reason) > 30, (skipped["check_id"], reason)


@pytest.fixture(scope="module")
def checkov_reports() -> dict[str, dict]:
    """checkov --framework helm for the defaults and every scenario, in parallel."""
    jobs = {"default": ["-d", "helm/parley", "--framework", "helm"]}
    for name, path in SCENARIOS.items():
        if path:
            jobs[name] = ["-d", "helm/parley", "--framework", "helm", "--var-file", str(path)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(run_checkov, *args) for name, args in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def test_checkov_helm_default_has_no_failed_checks(checkov_reports):
    report = checkov_reports["default"]
    failed = [(f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]]
    assert not failed
    assert report["summary"]["passed"] > 300
    assert_skips_have_reasons(report)


@pytest.mark.parametrize("scenario", [p.stem for p in CI_VALUES])
def test_checkov_helm_scenarios(checkov_reports, scenario):
    report = checkov_reports[scenario]
    values = yaml.safe_load(SCENARIOS[scenario].read_text())
    expected = set()
    if values.get("networkPolicy", {}).get("enabled") is False:
        # The scenario turns the NetworkPolicy off on purpose (checkov >= 3.2 flags it).
        expected = {"CKV2_K8S_6"}
    failed = {f["check_id"] for f in report["results"]["failed_checks"]}
    assert failed <= expected, report["results"]["failed_checks"]
    assert_skips_have_reasons(report)
