"""Production settings: fail fast on missing secrets, secure defaults, JSON logs."""

from django.core.exceptions import ImproperlyConfigured

from app.config.env import env_bool, env_int, env_required

from .base import *  # noqa: F403
from .base import LOGGING

SECRET_KEY = env_required("SECRET_KEY")
if DEBUG:  # noqa: F405
    raise ImproperlyConfigured("DEBUG must be off in production (unset DEBUG or set it to false).")

# ------------------------------------------------------------------ security
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# WebSockets from other origins are refused at the handshake (HTTP 403).
WEBSOCKET_CHECK_ORIGIN = True

# ------------------------------------------------------------------ static files
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# ------------------------------------------------------------------ logging
LOGGING["handlers"]["console"]["formatter"] = "json"
