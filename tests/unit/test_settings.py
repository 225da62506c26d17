"""Each settings module, loaded in a fresh process with exactly the environment given.

Settings are read once per process, so every case is its own ``python -c
"django.setup()"``; the cases start together (one module fixture) to keep
the suite fast.
"""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
django.setup()
from django.conf import settings as s
layer = s.CHANNEL_LAYERS["default"]
print(json.dumps({
    "DEBUG": s.DEBUG,
    "SECRET_KEY": s.SECRET_KEY,
    "ENGINE": s.DATABASES["default"]["ENGINE"],
    "DB_NAME": str(s.DATABASES["default"]["NAME"]),
    "LAYER": layer["BACKEND"],
    "LAYER_HOSTS": layer.get("CONFIG", {}).get("hosts"),
    "REDIS_HOSTS": s.REDIS_HOSTS,
    "INPROCESS_WORKER": s.PARLEY.inprocess_worker,
    "CHECK_ORIGIN": s.WEBSOCKET_CHECK_ORIGIN,
    "ALLOWED_HOSTS": s.ALLOWED_HOSTS,
    "STATIC": s.STORAGES["staticfiles"]["BACKEND"],
    "LOG_FORMATTER": s.LOGGING["handlers"]["console"]["formatter"],
    "HSTS": getattr(s, "SECURE_HSTS_SECONDS", 0),
    "ADMIN": getattr(s, "ADMIN_ENABLED", True),
    "CSP": getattr(s, "CONTENT_SECURITY_POLICY", None),
    "MIDDLEWARE": s.MIDDLEWARE,
    "METRICS_PORT": getattr(s, "METRICS_PORT", None),
}))
"""
SECRET = "a-real-secret-for-this-test"
CHANNELS_REDIS_BLOCKING_POP = 5  # channels_redis.core.RedisChannelLayer.brpop_timeout
PLAIN_AND_TLS = "redis://plain.example.com:6379,rediss://tls.example.com:6380"
SHARDS = ["redis://a.example.com:6379/0", "redis://b.example.com:6379/0", "redis://c:1/2"]
PROD = {"SECRET_KEY": SECRET, "REDIS_URL": "redis://cache.example.com:6379/0"}
LAYER_CLASS = "app.ops.layers.BlockingPoolRedisChannelLayer"
CSP_MIDDLEWARE = "app.ops.middleware.content_security_policy"
ONE_YEAR = 365 * 24 * 3600

# case -> (settings module, the whole environment besides PATH)
CASES: dict[str, tuple[str, dict[str, str]]] = {
    "prod-no-secret": ("production", {}),
    "prod-empty-secret": ("production", {"SECRET_KEY": ""}),
    "prod-blank-secret": ("production", {"SECRET_KEY": "   "}),
    "prod-debug-true": ("production", {"SECRET_KEY": SECRET, "DEBUG": "true"}),
    "prod-debug-1": ("production", {"SECRET_KEY": SECRET, "DEBUG": "1"}),
    "prod-debug-on": ("production", {"SECRET_KEY": SECRET, "DEBUG": "on"}),
    "prod-debug-maybe": ("production", {"SECRET_KEY": SECRET, "DEBUG": "maybe"}),
    "prod-ok": ("production", {**PROD, "DEBUG": "false", "ALLOWED_HOSTS": "chat.example.com"}),
    "prod-no-redis": ("production", {"SECRET_KEY": SECRET}),
    "prod-empty-redis": ("production", {"SECRET_KEY": SECRET, "REDIS_URL": " "}),
    "prod-single-process": ("production", {"SECRET_KEY": SECRET, "PARLEY_SINGLE_PROCESS": "true"}),
    "prod-not-single-process": (
        "production",
        {"SECRET_KEY": SECRET, "PARLEY_SINGLE_PROCESS": "false"},
    ),
    "prod-relaxed": (
        "production",
        {**PROD, "SECURE_HSTS_SECONDS": "0", "CONTENT_SECURITY_POLICY": "", "ADMIN_ENABLED": "1"},
    ),
    "prod-own-csp": ("production", {**PROD, "CONTENT_SECURITY_POLICY": "default-src 'none'"}),
    "prod-metrics-port": ("production", {**PROD, "METRICS_PORT": "9100"}),
    "local-bare": ("local", {}),
    "local-postgres": ("local", {"DATABASE_URL": "postgres://u:p@db.example.com:5432/parley"}),
    "test-bare": ("test", {}),
    "redis-one": ("local", {"REDIS_URL": "redis://cache.example.com:6379/0"}),
    "redis-shards": ("local", {"REDIS_URL": ", ".join(SHARDS)}),
    "rediss-lax": ("local", {"REDIS_URL": PLAIN_AND_TLS}),
    "rediss-strict": ("local", {"REDIS_URL": PLAIN_AND_TLS, "REDIS_TLS_VERIFY": "true"}),
    "redis-pool": ("local", {"REDIS_URL": "redis://r:6379/0", "REDIS_MAX_CONNECTIONS": "777"}),
    "redis-pool-heroku": ("local", {"REDIS_URL": "redis://r:6379/0", "REDIS_MAX_CONNECTIONS": "5"}),
    "redis-pool-small": ("local", {"REDIS_URL": "redis://r:6379/0", "REDIS_MAX_CONNECTIONS": "1"}),
}


@dataclass(frozen=True)
class Probe:
    """How one ``django.setup()`` went."""

    returncode: int
    stdout: str
    stderr: str

    def settings(self) -> dict:
        """The probed settings; fails with the child's stderr when it did not start."""
        assert self.returncode == 0, self.stderr
        return json.loads(self.stdout)

    def refusal(self) -> str:
        """The child's stderr, asserting it refused to start."""
        assert self.returncode != 0, self.stdout
        assert "ImproperlyConfigured" in self.stderr
        return self.stderr


@pytest.fixture(scope="module")
def probes() -> dict[str, Probe]:
    """Every case of CASES, run side by side."""
    running = {
        case: subprocess.Popen(
            [sys.executable, "-c", PROBE],
            cwd=ROOT,
            env={
                "PATH": os.environ["PATH"],
                "DJANGO_SETTINGS_MODULE": f"app.config.settings.{module}",
                **env,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for case, (module, env) in CASES.items()
    }
    done = {}
    for case, process in running.items():
        stdout, stderr = process.communicate(timeout=120)
        done[case] = Probe(process.returncode, stdout, stderr)
    return done


# ------------------------------------------------------------------ production
@pytest.mark.parametrize("case", ["prod-no-secret", "prod-empty-secret", "prod-blank-secret"])
def test_production_refuses_to_start_without_secret_key(probes, case: str) -> None:
    stderr = probes[case].refusal()

    assert "The environment variable SECRET_KEY is required here." in stderr


@pytest.mark.parametrize("case", ["prod-debug-true", "prod-debug-1", "prod-debug-on"])
def test_production_refuses_to_start_with_debug_on(probes, case: str) -> None:
    assert "DEBUG must be off in production" in probes[case].refusal()


def test_production_refuses_a_debug_value_that_is_not_a_boolean(probes) -> None:
    assert "DEBUG='maybe' is not a boolean" in probes["prod-debug-maybe"].refusal()


def test_production_starts_with_a_secret_and_is_locked_down(probes) -> None:
    config = probes["prod-ok"].settings()

    assert config["DEBUG"] is False
    assert config["SECRET_KEY"] == SECRET
    assert config["CHECK_ORIGIN"] is True
    assert config["ALLOWED_HOSTS"] == ["chat.example.com"]
    assert config["STATIC"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert config["LOG_FORMATTER"] == "json"
    assert config["LAYER"] == LAYER_CLASS
    assert config["INPROCESS_WORKER"] is False


@pytest.mark.parametrize("case", ["prod-no-redis", "prod-empty-redis", "prod-not-single-process"])
def test_production_refuses_to_start_without_a_channel_layer(probes, case: str) -> None:
    stderr = probes[case].refusal()

    assert "REDIS_URL" in stderr
    assert "PARLEY_SINGLE_PROCESS=true" in stderr


def test_production_runs_as_one_process_only_when_told_so(probes) -> None:
    config = probes["prod-single-process"].settings()

    assert config["LAYER"] == "channels.layers.InMemoryChannelLayer"
    assert config["REDIS_HOSTS"] == []
    assert config["INPROCESS_WORKER"] is True


def test_production_defaults_are_secure(probes) -> None:
    config = probes["prod-ok"].settings()

    assert config["HSTS"] == ONE_YEAR
    assert config["ADMIN"] is False
    assert "script-src 'self'" in config["CSP"]
    assert "frame-ancestors 'none'" in config["CSP"]
    assert CSP_MIDDLEWARE in config["MIDDLEWARE"]
    assert config["METRICS_PORT"] == 0


def test_each_secure_default_has_a_variable_to_relax_it(probes) -> None:
    relaxed = probes["prod-relaxed"].settings()
    own = probes["prod-own-csp"].settings()

    assert relaxed["HSTS"] == 0
    assert relaxed["CSP"] == ""
    assert relaxed["ADMIN"] is True
    assert own["CSP"] == "default-src 'none'"
    assert probes["prod-metrics-port"].settings()["METRICS_PORT"] == 9100


# ------------------------------------------------------------------ local and test
def test_local_runs_with_no_environment_at_all(probes) -> None:
    config = probes["local-bare"].settings()

    assert config["DEBUG"] is True
    assert config["SECRET_KEY"]
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["DB_NAME"] == str(ROOT / "db.sqlite3")
    assert config["LAYER"] == "channels.layers.InMemoryChannelLayer"
    assert config["REDIS_HOSTS"] == []
    assert config["INPROCESS_WORKER"] is True
    assert config["CHECK_ORIGIN"] is False
    assert config["ADMIN"] is True, "make run keeps the admin at hand"


def test_database_url_selects_postgres(probes) -> None:
    config = probes["local-postgres"].settings()

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["DB_NAME"] == "parley"


def test_test_settings_refuse_to_run_without_real_services(probes) -> None:
    assert "DATABASE_URL" in probes["test-bare"].refusal()


# ------------------------------------------------------------------ Redis
def test_one_redis_url_gives_the_redis_layer_and_an_out_of_process_worker(probes) -> None:
    config = probes["redis-one"].settings()

    assert config["LAYER"] == LAYER_CLASS
    assert [host["address"] for host in config["LAYER_HOSTS"]] == [
        "redis://cache.example.com:6379/0"
    ]
    assert config["INPROCESS_WORKER"] is False


def test_several_redis_urls_shard_the_layer(probes) -> None:
    config = probes["redis-shards"].settings()

    assert [host["address"] for host in config["LAYER_HOSTS"]] == SHARDS
    assert config["LAYER_HOSTS"] == config["REDIS_HOSTS"]


def test_rediss_skips_certificate_checks_unless_told_to_verify(probes) -> None:
    lax = probes["rediss-lax"].settings()["LAYER_HOSTS"]
    strict = probes["rediss-strict"].settings()["LAYER_HOSTS"]

    assert "ssl_cert_reqs" not in lax[0]
    assert lax[1]["ssl_cert_reqs"] == "none"
    assert lax[1]["ssl_check_hostname"] is False
    assert [host["address"] for host in strict] == PLAIN_AND_TLS.split(",")
    assert not any("ssl_cert_reqs" in host or "ssl_check_hostname" in host for host in strict)


def test_the_redis_pool_is_sized_and_outlasts_the_blocking_pop(probes) -> None:
    (host,) = probes["redis-pool"].settings()["LAYER_HOSTS"]

    assert host["max_connections"] == 777
    assert host["socket_timeout"] > CHANNELS_REDIS_BLOCKING_POP


def test_a_pool_as_small_as_heroku_redis_needs_is_accepted(probes) -> None:
    (host,) = probes["redis-pool-heroku"].settings()["LAYER_HOSTS"]

    assert host["max_connections"] == 5


def test_a_redis_pool_too_small_is_refused(probes) -> None:
    stderr = probes["redis-pool-small"].refusal()

    assert "REDIS_MAX_CONNECTIONS=1 is below its minimum 2" in stderr
