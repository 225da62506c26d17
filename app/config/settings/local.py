"""Settings for `make run`: SQLite, an in-process channel layer and worker, DEBUG on."""

from app.config.env import env_bool

from .base import *  # noqa: F403
from .base import SECRET_KEY

DEBUG = env_bool("DEBUG", default=True)
ADMIN_ENABLED = env_bool("ADMIN_ENABLED", default=True)
SECRET_KEY = SECRET_KEY or "local-development-only-not-secret"
