"""The test suite: PostgreSQL and Redis when DATABASE_URL / CELERY_BROKER_URL are set."""

from pathlib import Path

from .base import *  # noqa: F403
from .base import env, env_bool

SECRET_KEY = "test-only-key-long-enough-for-hmac-sha256-jwt-signing"  # noqa: S105
DEBUG = False
# The API contract tests read the schema without signing in (tests/api_contract).
IDP_API_SCHEMA_PUBLIC = env_bool("IDP_API_SCHEMA_PUBLIC", True)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
AXES_ENABLED = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "100000/minute"}}  # noqa: F405
IDP_WORK_DIR = Path(env("IDP_WORK_DIR", "/tmp/idp-test-runs"))  # noqa: S108
