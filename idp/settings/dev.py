"""Local development (`make run`): SQLite, a server-less broker, a local AWS API."""

from .base import *  # noqa: F403
from .base import SECRET_KEY, env_bool

DEBUG = env_bool("IDP_DEBUG", True)
if not SECRET_KEY:
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
