"""Production settings plus the ceiling view, for the benchmark's gunicorn and in-process runs."""

import warnings

from config.settings.production import *  # noqa: F403
from config.settings.production import ALLOWED_HOSTS

ROOT_URLCONF = "benchmarks.ceiling_urls"
# The Django test client (queries-per-request measurement) calls itself "testserver".
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]

# Static files are not collected for the benchmark; whitenoise's reminder is noise here.
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise")
