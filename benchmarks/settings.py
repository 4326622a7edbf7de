"""Production settings plus the ceiling view, for the benchmark's gunicorn and in-process runs."""

from idp.settings.production import *  # noqa: F403
from idp.settings.production import ALLOWED_HOSTS

ROOT_URLCONF = "benchmarks.ceiling_urls"
# The Django test client (queries-per-request measurement) calls itself "testserver".
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
