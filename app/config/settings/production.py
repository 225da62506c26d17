"""Production settings: fail fast on missing secrets or a missing channel layer, secure defaults.

Each secure default has a variable to relax it (README, "Configuration").
"""

from django.core.exceptions import ImproperlyConfigured

from app.config.env import env_bool, env_int, env_required, env_str

from .base import *  # noqa: F403
from .base import LOGGING, REDIS_HOSTS

SECRET_KEY = env_required("SECRET_KEY")
if DEBUG:  # noqa: F405
    raise ImproperlyConfigured("DEBUG must be off in production (unset DEBUG or set it to false).")

# ------------------------------------------------------------------ channel layer
# Without Redis every process has a layer (and a worker) of its own: several of them
# would split the chat silently. Only a deployment that is one process may say so.
SINGLE_PROCESS = env_bool("PARLEY_SINGLE_PROCESS", default=False)
if not REDIS_HOSTS and not SINGLE_PROCESS:
    raise ImproperlyConfigured(
        "REDIS_URL is not set: production needs a Redis channel layer shared by every "
        "interface server and worker. Set REDIS_URL, or set PARLEY_SINGLE_PROCESS=true if "
        "this deployment is exactly one process (in-process layer and worker)."
    )

# ------------------------------------------------------------------ security
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Sent on HTTPS responses only (behind TLS, X-Forwarded-Proto: https); 0 turns it off.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Same-origin scripts, styles and sockets only: the room page (room.js, parley.css, its
# JSON config block, its WebSocket) needs nothing else. An empty value sends no header.
CONTENT_SECURITY_POLICY = (
    env_str(
        "CONTENT_SECURITY_POLICY",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' {websocket}; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'",
    )
    or ""
).strip()
# WebSockets from other origins are refused at the handshake (HTTP 403).
WEBSOCKET_CHECK_ORIGIN = True

# ------------------------------------------------------------------ static files
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# ------------------------------------------------------------------ logging
LOGGING["handlers"]["console"]["formatter"] = "json"
