"""Settings for pytest: real Postgres and Redis from DATABASE_URL and REDIS_URL."""

from app.config.env import env_required

from .base import *  # noqa: F403

env_required("DATABASE_URL")
env_required("REDIS_URL")
SECRET_KEY = "test-only-not-secret"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
