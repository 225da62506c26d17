"""The Heroku button: app.json against Heroku's schema and against the Procfile.

The schema (``schemas/app-json.schema.json``) is written from Heroku's app.json
reference and refuses unknown keys, so a misspelt key fails here instead of
being silently ignored by Heroku.
"""

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = Path(__file__).parent / "schemas" / "app-json.schema.json"
# Heroku's router closes a WebSocket that has been idle for 55 seconds.
ROUTER_IDLE_TIMEOUT_SECONDS = 55
# Most client connections each Heroku Redis plan accepts (Heroku's plan table; mini: 20).
HEROKU_REDIS_CLIENTS = {"mini": 20, "premium-0": 40, "premium-1": 80, "premium-2": 200}
# Kept free for a one-off dyno (`heroku run`) or `heroku redis:cli`.
SPARE_REDIS_CLIENTS = 2


def read_json(path: Path) -> dict:
    """Parse one JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def procfile() -> dict[str, str]:
    """Return the Procfile's process types and their commands."""
    processes = {}
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            processes[name.strip()] = command.strip()
    return processes


def addon_services(manifest: dict) -> set[str]:
    """Return the add-on services (``heroku-redis``), whatever form each entry takes."""
    plans = [a if isinstance(a, str) else a["plan"] for a in manifest.get("addons", [])]
    return {plan.split(":")[0] for plan in plans}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = read_json(SCHEMA_PATH)
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture(scope="module")
def manifest() -> dict:
    return read_json(ROOT / "app.json")


def test_app_json_matches_herokus_schema(validator, manifest):
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(manifest)]
    assert not errors


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda m: m.update(fomation=m.pop("formation")), "misspelt key (the seed's mistake)"),
        (lambda m: m["formation"]["web"].update(quantity="1"), "quantity is not an integer"),
        (lambda m: m["formation"]["web"].update(size="huge"), "unknown dyno size"),
        (lambda m: m["env"]["SECRET_KEY"].update(value="x"), "both a value and a generator"),
        (lambda m: m["env"]["SECRET_KEY"].update(generator="random"), "unknown generator"),
        (lambda m: m["addons"].append({"as": "CACHE"}), "add-on without a plan"),
        (lambda m: m.update(stack="cedar-14"), "unknown stack"),
        (lambda m: m.update(scripts={"postdeploi": "x"}), "unknown script"),
    ],
)
def test_schema_rejects(validator, manifest, change, why):
    broken = copy.deepcopy(manifest)
    change(broken)
    assert not validator.is_valid(broken), why


def test_postgres_and_redis_addons(manifest):
    assert {"heroku-postgresql", "heroku-redis"} <= addon_services(manifest)


def test_formation_scales_procfile_process_types(manifest):
    formation = manifest["formation"]
    assert {"web", "worker"} <= set(formation)
    assert set(formation) <= set(procfile()), "formation names a process type the Procfile lacks"
    for name, entry in formation.items():
        assert entry.get("quantity", 0) >= 1, name


def test_secret_key_is_generated(manifest):
    assert manifest["env"]["SECRET_KEY"] == {
        "description": manifest["env"]["SECRET_KEY"]["description"],
        "generator": "secret",
    }


def test_every_config_var_is_described(manifest):
    for name, entry in manifest["env"].items():
        assert isinstance(entry, dict), name
        assert entry.get("description"), name


def test_production_settings_are_used(manifest):
    module = manifest["env"]["DJANGO_SETTINGS_MODULE"]["value"]
    assert module == "app.config.settings.production"
    assert (ROOT / (module.replace(".", "/") + ".py")).is_file()
    assert manifest["env"]["ALLOWED_HOSTS"]["value"] == ".herokuapp.com"


def test_no_postdeploy_the_release_phase_migrates(manifest):
    assert "postdeploy" not in manifest.get("scripts", {})
    release = procfile().get("release", "")
    assert re.search(r"\bmanage\.py migrate\b", release), release


def test_web_binds_port_on_all_interfaces():
    web = procfile()["web"]
    assert re.search(r"\$\{?PORT\b", web), "the web process must listen on $PORT"
    assert "0.0.0.0" in web, "the web process must listen on every interface"  # noqa: S104


def test_websocket_pings_beat_the_router_idle_timeout(manifest):
    interval = int(manifest["env"]["WEBSOCKET_PING_INTERVAL"]["value"])
    assert 0 < interval < ROUTER_IDLE_TIMEOUT_SECONDS
    assert re.search(r"--ping-interval \$\{?WEBSOCKET_PING_INTERVAL\b", procfile()["web"])


def test_python_buildpack_inputs(manifest):
    assert manifest["stack"] == "heroku-24"
    assert manifest["buildpacks"] == [{"url": "heroku/python"}]
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert "-r requirements/base.txt" in requirements
    version = (ROOT / ".python-version").read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"3\.(1[1-9]|[2-9]\d)", version), f"major.minor, >= 3.11: {version!r}"


def test_redis_pools_fit_the_heroku_redis_plan(manifest):
    """Every dyno's pools at their limit stay within the plan's client connections.

    Parley's pools wait at their limit instead of failing, so a small pool is slower under a
    burst, never broken; a pool larger than the plan allows fails with "max number of clients
    reached" instead. The web dyno (daphne) holds the channel layer's pool, presence's and one
    connection for readiness and metrics; a worker its layer pool and that one connection.
    """
    plan = next(
        a["plan"] if isinstance(a, dict) else a
        for a in manifest["addons"]
        if (a["plan"] if isinstance(a, dict) else a).startswith("heroku-redis:")
    )
    limit = HEROKU_REDIS_CLIENTS[plan.split(":", 1)[1]]
    pool = int(manifest["env"]["REDIS_MAX_CONNECTIONS"]["value"])
    web = manifest["formation"]["web"]["quantity"]
    worker = manifest["formation"]["worker"]["quantity"]
    used = web * (2 * pool + 1) + worker * (pool + 1) + SPARE_REDIS_CLIENTS

    assert pool >= 2, "one connection waits in the blocking pop, one sends"
    assert used <= limit, f"{used} connections at the pools' limits; {plan} accepts {limit}"
    assert str(limit) in manifest["env"]["REDIS_MAX_CONNECTIONS"]["description"]
