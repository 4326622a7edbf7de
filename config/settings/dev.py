"""Local development (`make run`): SQLite, a server-less broker, a local AWS API."""

from .base import *  # noqa: F403
from .base import IDP_VAR_DIR, SECRET_KEY, env, env_bool

DEBUG = env_bool("IDP_DEBUG", True)
# The API's schema and docs are open on a developer's machine (private in production).
IDP_API_SCHEMA_PUBLIC = env_bool("IDP_API_SCHEMA_PUBLIC", True)
if not SECRET_KEY:
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
# E-mails are files in var/mail (one per connection), not output mixed into what commands
# print; the first one a process writes says where.
EMAIL_BACKEND = env("IDP_EMAIL_BACKEND", "idp.mail.FileBackend")
EMAIL_FILE_PATH = env("IDP_EMAIL_FILE_PATH", str(IDP_VAR_DIR / "mail"))
