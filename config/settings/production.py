"""Production: secrets from the environment, secure cookies, HSTS, JSON logs."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env_bool, env_int

if not SECRET_KEY or len(SECRET_KEY) < 50:  # noqa: F405
    raise ImproperlyConfigured("IDP_SECRET_KEY must be set to a random string of 50+ characters")

DEBUG = False
SECURE_SSL_REDIRECT = env_bool("IDP_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("IDP_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
LOGGING["handlers"]["console"]["formatter"] = "json"  # noqa: F405

# /metrics answers only with IDP_METRICS_TOKEN, and is off (404) until it is set;
# `manage.py check --deploy` warns about it (idp.ops.deploy_checks).
IDP_METRICS_REQUIRE_TOKEN = True
