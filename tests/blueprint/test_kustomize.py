"""The kustomize manifests in k8s/: valid, scanned, and provably the chart's objects.

k8s/base is generated from helm/parley by scripts/render_k8s.py; this module
re-renders the chart with k8s/values-base.yaml, applies the same
normalisation and compares object by object, so base and chart never drift.
Each overlay is built with ``kubectl kustomize`` and validated against the
Kubernetes schemas of two minor versions.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
BASE = K8S / "base"
OVERLAYS = {"staging": K8S / "overlays" / "staging", "production": K8S / "overlays" / "production"}
BUILDS = {"base": BASE, **OVERLAYS}
K8S_VERSIONS = ("1.29.0", "1.33.0")
ROLES = ("ws", "web", "worker")
ALLOWED_CHECKOV_SKIPS = {"CKV_K8S_15", "CKV_K8S_35", "CKV_K8S_43"}


def _load_render_k8s():
    spec = importlib.util.spec_from_file_location("render_k8s", ROOT / "scripts" / "render_k8s.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("render_k8s", module)
    spec.loader.exec_module(module)
    return module


render_k8s = _load_render_k8s()


def tool(name: str) -> str:
    """Path of a CLI tool, or a failed test that says how to install it."""
    try:
        return render_k8s.find_tool(name)
    except render_k8s.HelmNotFoundError as exc:
        pytest.fail(f"{exc}; kubernetes-validate and checkov come from requirements/blueprint.txt")


def key(obj: dict[str, Any]) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def by_key(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    indexed = {key(o): o for o in objects}
    assert len(indexed) == len(objects), "duplicate objects"
    return indexed


def find(objects: list[dict], kind: str, name: str) -> dict:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}"
    return matches[0]


def container(objects: list[dict], role: str) -> dict:
    return find(objects, "Deployment", f"parley-{role}")["spec"]["template"]["spec"]["containers"][
        0
    ]


@pytest.fixture(scope="module")
def built() -> dict[str, list[dict[str, Any]]]:
    """kubectl kustomize of base and each overlay (offline)."""
    out = {}
    for name, path in BUILDS.items():
        result = subprocess.run(
            [tool("kubectl"), "kustomize", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"kubectl kustomize {path}: {result.stderr}"
        out[name] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return out


@pytest.fixture(scope="module")
def chart_objects() -> list[dict[str, Any]]:
    """The chart rendered with k8s/values-base.yaml, normalised as render_k8s.py does."""
    return render_k8s.normalise(render_k8s.render_chart([render_k8s.VALUES]))


# ------------------------------------------------------------------ the chart and the base agree


def test_base_files_equal_the_chart_render(chart_objects):
    committed = []
    for path in sorted(BASE.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            committed.append(yaml.safe_load(path.read_text()))
    committed_index, chart_index = by_key(committed), by_key(chart_objects)
    missing = sorted(set(chart_index) - set(committed_index))
    extra = sorted(set(committed_index) - set(chart_index))
    assert not missing, f"k8s/base lacks {missing}: run python scripts/render_k8s.py"
    assert not extra, f"k8s/base has extra {extra}: run python scripts/render_k8s.py"
    for obj_key, obj in chart_index.items():
        assert committed_index[obj_key] == obj, (
            f"{obj_key} differs from the chart: run python scripts/render_k8s.py"
        )


def test_base_kustomize_build_equals_the_chart_render(built, chart_objects):
    assert by_key(built["base"]) == by_key(chart_objects)


def test_base_files_are_exactly_what_render_k8s_writes():
    expected = render_k8s.expected_base()
    current = {p.name: p.read_text() for p in BASE.glob("*.yaml")}
    stale = sorted(n for n in expected.keys() | current.keys() if expected.get(n) != current.get(n))
    assert not stale, f"stale k8s/base files {stale}: run python scripts/render_k8s.py"
    listed = yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(n for n in current if n != "kustomization.yaml")


def test_base_has_no_helm_only_bits(built):
    for obj in built["base"]:
        meta = obj["metadata"]
        assert not any(k.startswith("helm.sh/") for k in meta.get("annotations", {})), key(obj)
        assert "helm.sh/chart" not in meta.get("labels", {}), key(obj)
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "kustomize"
        assert meta["namespace"] == "parley"
    kinds = {o["kind"] for o in built["base"]}
    assert "Pod" not in kinds, "helm test pods stay in the chart"
    assert "Secret" not in kinds, (
        "secrets are never committed: parley-secrets is made per namespace"
    )
    job = find(built["base"], "Job", "parley-migrate")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "python", "manage.py", "migrate", "--noinput",
    ]  # fmt: skip
    assert job["spec"]["ttlSecondsAfterFinished"] == 600
    for role in ROLES:
        env = {e["name"]: e.get("valueFrom") for e in container(built["base"], role)["env"]}
        assert env["DATABASE_URL"]["secretKeyRef"]["name"] == "parley-secrets"


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_kustomize_builds_validate_strictly(built, version, tmp_path):
    files = []
    for name, objects in built.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(objects))
        files.append(str(path))
    result = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--quiet", "-k", version, *files],
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ERROR" not in output
    assert "Couldn't find schema" not in output


# ------------------------------------------------------------------ overlays


@pytest.mark.parametrize(
    ("overlay", "namespace", "host", "ws_min"),
    [("staging", "parley-staging", "chat-staging.example.com", 1),
     ("production", "parley", "chat.example.com", 3)],
)  # fmt: skip
def test_overlay_patches(built, overlay, namespace, host, ws_min):
    objects = built[overlay]
    assert {(k, n) for k, _, n in by_key(objects)} == {(k, n) for k, _, n in by_key(built["base"])}
    for obj in objects:
        assert obj["metadata"]["namespace"] == namespace
        assert obj["metadata"]["labels"]["app.kubernetes.io/environment"] == overlay
    ingress = find(objects, "Ingress", "parley")["spec"]
    assert [r["host"] for r in ingress["rules"]] == [host]
    assert ingress["tls"][0]["hosts"] == [host]
    paths = {
        p["path"]: p["backend"]["service"]["name"] for p in ingress["rules"][0]["http"]["paths"]
    }
    assert paths == {"/chat/": "parley-ws", "/": "parley-web"}
    data = find(objects, "ConfigMap", "parley")["data"]
    assert data["ALLOWED_HOSTS"].split(",")[0] == host
    assert data["CSRF_TRUSTED_ORIGINS"] == f"https://{host}"
    assert find(objects, "HorizontalPodAutoscaler", "parley-ws")["spec"]["minReplicas"] == ws_min
    base_ws = container(built["base"], "ws")["resources"]
    assert container(objects, "ws")["resources"] != base_ws
    for role in ROLES:
        image = container(objects, role)["image"]
        assert image.startswith("ghcr.io/parley-chat/parley:"), image
        selector = find(objects, "Deployment", f"parley-{role}")["spec"]["selector"]
        assert selector == find(built["base"], "Deployment", f"parley-{role}")["spec"]["selector"]


# ------------------------------------------------------------------ checkov


def run_checkov(directory: Path) -> dict:
    result = subprocess.run(
        [tool("checkov"), "-d", str(directory), "--framework", "kubernetes", "--skip-download",
         "-o", "json"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON report:\n{result.stdout}\n{result.stderr}")
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["resource_count"] > 0
    return report


def assert_clean(report: dict) -> None:
    failed = [(f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]]
    assert not failed
    for skipped in report["results"]["skipped_checks"]:
        reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
        assert skipped["check_id"] in ALLOWED_CHECKOV_SKIPS, skipped["check_id"]
        assert len(reason) > 30, (skipped["check_id"], reason)


def test_checkov_kubernetes_on_k8s_dir():
    assert_clean(run_checkov(Path("k8s")))


def test_checkov_kubernetes_on_built_overlays(built, tmp_path):
    for name in OVERLAYS:
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump_all(built[name]))
    assert_clean(run_checkov(tmp_path))
