"""Settings shared by every environment. Values come from ``app.config.env``."""

from pathlib import Path

import dj_database_url

from app.config.env import env_bool, env_int, env_list, env_str
from app.config.parley import ParleySettings
from app.ops.redis import redis_options

BASE_DIR = Path(__file__).resolve().parents[3]

# ------------------------------------------------------------------ core
SECRET_KEY = env_str("SECRET_KEY", "")
DEBUG = env_bool("DEBUG", default=False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ("127.0.0.1", "localhost", "[::1]"))
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
ROOT_URLCONF = "app.config.urls"
WSGI_APPLICATION = "app.config.wsgi.application"
ASGI_APPLICATION = "app.config.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

INSTALLED_APPS = [
    "daphne",
    "whitenoise.runserver_nostatic",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Before channels, so app.chat's runworker (Parley's worker, with metrics) is the one run.
    "app.ops",
    "app.chat",
    "channels",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "app.ops.middleware.content_security_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ------------------------------------------------------------------ database
DATABASE_URL = env_str("DATABASE_URL")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}

# ------------------------------------------------------------------ channel layer and chat
# Interface servers send messages to be stored here; workers compete for it.
PERSIST_CHANNEL = "chat.persist"
# REDIS_URL may hold several URLs (comma-separated): channels-redis shards on them.
REDIS_URLS = env_list("REDIS_URL")
# Per pool (layer per shard, presence); pools wait at the limit (see app/ops/redis.py).
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 512, minimum=2)
REDIS_TLS_VERIFY = env_bool("REDIS_TLS_VERIFY", default=False)
REDIS_HOSTS = [
    redis_options(url, max_connections=REDIS_MAX_CONNECTIONS, tls_verify=REDIS_TLS_VERIFY)
    for url in REDIS_URLS
]
# Every PARLEY_* variable, typed (see app/config/parley.py); app.config.wiring reads it.
PARLEY = ParleySettings.from_env(
    persist_channel=PERSIST_CHANNEL,
    # Without Redis the worker cannot be a separate process: run it in the server.
    inprocess_worker=not REDIS_HOSTS,
)
if REDIS_HOSTS:
    CHANNEL_LAYERS = {
        "default": {
            # channels-redis' core layer on pools that wait at their limit.
            "BACKEND": "app.ops.layers.BlockingPoolRedisChannelLayer",
            "CONFIG": {
                "hosts": REDIS_HOSTS,
                "prefix": "parley",
                # Messages wait this long for a reader (a worker through a Postgres
                # outage, above all) before channels-redis drops them.
                "expiry": 3600,
                # Hubs re-join their groups every resync; a dead server's memberships
                # go soon after its last one instead of drawing messages for a day.
                "group_expiry": int(3 * PARLEY.resync_seconds),
                "capacity": 1000,
                "channel_capacity": {
                    PERSIST_CHANNEL: 20000,
                    # channels-redis keeps every channel of one process (each socket's,
                    # where acks arrive, and the hub's, where rooms' messages do) in one
                    # queue, so this is the capacity of a whole interface server: with
                    # 1000, a busy server's acks and room messages were dropped as full.
                    "specific.*": PARLEY.max_sockets or 20000,
                },
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Readiness turns off while more messages than this wait for a worker: load balancers
# then send new sockets nowhere new until the workers catch up (existing ones go on).
READINESS_MAX_BACKLOG = env_int("READINESS_MAX_BACKLOG", 10000, minimum=1)
# WebSockets from other origins are refused at the handshake where this is on.
WEBSOCKET_CHECK_ORIGIN = False
# Prometheus metrics on a port of their own when set (app/ops/exporter.py), and then not
# at the app's /metrics: the Ingress and Heroku's router reach only the app's port.
METRICS_PORT = env_int("METRICS_PORT", 0)
# Django's admin at /admin/; off unless asked for (it would be public beside the chat).
ADMIN_ENABLED = env_bool("ADMIN_ENABLED", default=False)
# A Content-Security-Policy on pages (app/ops/middleware.py); production sets one.
CONTENT_SECURITY_POLICY = ""

# ------------------------------------------------------------------ static files
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# ------------------------------------------------------------------ logging
LOG_LEVEL = (env_str("LOG_LEVEL", "INFO") or "INFO").upper()
LOG_JSON = env_bool("LOG_JSON", default=False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_JSON else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}
