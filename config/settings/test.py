"""The test suite: PostgreSQL and Redis when DATABASE_URL / CELERY_BROKER_URL are set."""

import sys
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
# Under pytest-xdist every worker (gw0, gw1, …) has its own run folders and its own broker
# keys, so no worker picks up another's Celery tasks; pytest-django suffixes the test
# databases itself (test_idp_gw0, …).
XDIST_WORKER = env("PYTEST_XDIST_WORKER", "")
_work_dir = env("IDP_WORK_DIR", "/tmp/idp-test-runs")  # noqa: S108
# Only in the pytest process itself: the worker processes a test starts (same settings,
# same environment) are handed their folder by that test.
_own_folder = XDIST_WORKER and "pytest" in sys.modules
IDP_WORK_DIR = Path(f"{_work_dir}-{XDIST_WORKER}" if _own_folder else _work_dir)
if XDIST_WORKER:
    # kombu's Redis transport prefixes every key and channel (queues, unacked, control) with
    # it; the other transports ignore it. Set whatever the broker, so a test that switches to
    # a Redis of its own and the worker processes it starts still agree.
    CELERY_BROKER_TRANSPORT_OPTIONS = {  # noqa: F405
        **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
        "global_keyprefix": f"{XDIST_WORKER}:",
    }
# The test worker's heartbeat row comes back within a second after a test's flush. Not on
# SQLite: its shared in-memory test database locks whole tables while the heartbeat thread
# writes, and a test's flush meeting that lock fails ("database table is locked"), and with
# it every test after; there the worker beats as it starts, and then hourly.
_sqlite = DATABASES["default"]["ENGINE"].endswith("sqlite3")  # noqa: F405
IDP_WORKER_HEARTBEAT_SECONDS = 3600.0 if _sqlite else 1.0
# Tests stop the local AWS API on purpose: Terraform's state backend gives up at once
# instead of retrying for seconds (the default is 5 attempts).
IDP_STATE_BACKEND_MAX_RETRIES = 1
