"""Local development (`make run`): SQLite, a server-less broker, a local AWS API."""

from .base import *  # noqa: F403
from .base import SECRET_KEY, env_bool

DEBUG = env_bool("IDP_DEBUG", True)
# The API's schema and docs are open on a developer's machine (private in production).
IDP_API_SCHEMA_PUBLIC = env_bool("IDP_API_SCHEMA_PUBLIC", True)
if not SECRET_KEY:
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
