"""Settings shared by every deployment; everything site-specific comes from the environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url

from idp import conf, ssm_config

# Parameter Store (IDP_CONFIG_SSM_PREFIX) fills the variables the environment leaves unset,
# before anything below reads them: the environment always wins.
IDP_CONFIG_FROM_SSM = ssm_config.apply()

BASE_DIR = Path(__file__).resolve().parent.parent.parent


# Every variable is read through idp/conf.py (declared settings, or its env readers).
env, env_bool, env_int, env_list = conf.env, conf.env_bool, conf.env_int, conf.env_list


SECRET_KEY = env("IDP_SECRET_KEY", "")
DEBUG = env_bool("IDP_DEBUG", False)
ALLOWED_HOSTS = env_list("IDP_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("IDP_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "axes",
    "django_htmx",
    "idp",
    "catalog",
    "catalog.software",
    "provisioning",
    "policies",
    "pipelines",
    "monitoring",
    "fleet",
    "config",
]

MIDDLEWARE = [
    # Never Django's technical error pages, under DEBUG (make run) too.
    "idp.middleware.NoTechnicalPagesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "idp.middleware.RequestContextMiddleware",
    "idp.ops.metrics.RequestMetricsMiddleware",
    "idp.api.deprecation.DeprecationHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "idp.context_processors.platform",
                "provisioning.context_processors.approvals",
            ],
        },
    }
]

IDP_VAR_DIR = conf.read("IDP_VAR_DIR")
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{IDP_VAR_DIR / 'idp.sqlite3'}"),
        conn_max_age=env_int("IDP_DB_CONN_MAX_AGE", 60),
        # A kept connection the database dropped (restart, failover, idle kill) is noticed
        # at the start of the next request and replaced, instead of failing it.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers (portal threads, workers, commands) wait their turn: WAL lets
    # readers run beside the writer, IMMEDIATE takes the write lock up front (a read lock
    # upgraded mid-transaction fails at once, whatever the timeout), and 20 s is the wait.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and (
    page_cost := conf.read("IDP_DB_RANDOM_PAGE_COST")
):
    # With the default of 4 (spinning disks) the planner reads the whole entity table for a
    # common search word instead of the trigram index: 45-70 ms against 16-24 ms at 50,000
    # entities. Set per connection so a managed database needs no parameter group change.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c random_page_cost={page_cost}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Sign-in (django-allauth) -------------------------------------------------
SITE_ID = 1
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env("IDP_EMAIL_VERIFICATION", "optional")
ACCOUNT_ALLOW_SIGNUP = env_bool("IDP_ALLOW_SIGNUP", False)
ACCOUNT_ADAPTER = "idp.auth.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "idp.auth.adapters.SocialAccountAdapter"
SOCIALACCOUNT_ONLY = False
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}


def _socialaccount_providers() -> dict:
    """SSO providers are switched on by their environment variables."""
    providers: dict = {}
    # The company IdP vouches for its e-mail addresses: link to the user SCIM made.
    link_by_email = conf.read("IDP_SSO_LINK_BY_EMAIL")
    if env("IDP_GITHUB_CLIENT_ID"):
        providers["github"] = {
            "APPS": [
                {
                    "client_id": env("IDP_GITHUB_CLIENT_ID"),
                    "secret": env("IDP_GITHUB_CLIENT_SECRET", ""),
                }
            ],
            "SCOPE": ["read:user", "user:email"],
            # GitHub Enterprise Server: its web address (the API is under /api/v3).
            **({"GITHUB_URL": env("IDP_GITHUB_URL")} if env("IDP_GITHUB_URL") else {}),
        }
    if env("IDP_GOOGLE_CLIENT_ID"):
        providers["google"] = {
            "APPS": [
                {
                    "client_id": env("IDP_GOOGLE_CLIENT_ID"),
                    "secret": env("IDP_GOOGLE_CLIENT_SECRET", ""),
                }
            ],
            "SCOPE": ["profile", "email"],
        }
    if env("IDP_OIDC_CLIENT_ID"):
        providers["openid_connect"] = {
            "APPS": [
                {
                    "provider_id": env("IDP_OIDC_PROVIDER_ID", "sso"),
                    "name": env("IDP_OIDC_NAME", "Single sign-on"),
                    "client_id": env("IDP_OIDC_CLIENT_ID"),
                    "secret": env("IDP_OIDC_CLIENT_SECRET", ""),
                    "settings": {
                        "server_url": env("IDP_OIDC_SERVER_URL", ""),
                        "oauth_pkce_enabled": True,
                        "email_authentication": link_by_email,
                    },
                }
            ]
        }
    if env("IDP_SAML_IDP_ENTITY_ID"):
        providers["saml"] = {
            "APPS": [
                {
                    "name": env("IDP_SAML_NAME", "SAML"),
                    "provider_id": env("IDP_SAML_IDP_ENTITY_ID"),
                    "client_id": env("IDP_SAML_ORGANIZATION", "idp"),
                    "settings": {
                        # Common names (Okta, Entra ID, Shibboleth/pysaml2, ADFS); groups are read
                        # from the IDP_SSO_GROUPS_CLAIM attribute (docs/sso.md).
                        "attribute_mapping": {
                            "uid": [
                                "uid",
                                "urn:oasis:names:tc:SAML:attribute:subject-id",
                                "urn:mace:dir:attribute-def:uid",
                            ],
                            "email": [
                                "email",
                                "mail",
                                "urn:oid:0.9.2342.19200300.100.1.3",
                                "urn:mace:dir:attribute-def:email",
                                "urn:mace:dir:attribute-def:mail",
                                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                            ],
                            "username": ["username", "uid", "urn:mace:dir:attribute-def:uid"],
                            "first_name": [
                                "givenName",
                                "urn:oid:2.5.4.42",
                                "urn:mace:dir:attribute-def:givenName",
                                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
                            ],
                            "last_name": [
                                "sn",
                                "surname",
                                "urn:oid:2.5.4.4",
                                "urn:mace:dir:attribute-def:sn",
                                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
                            ],
                        },
                        "idp": {
                            "entity_id": env("IDP_SAML_IDP_ENTITY_ID"),
                            "sso_url": env("IDP_SAML_SSO_URL", ""),
                            "x509cert": env("IDP_SAML_X509_CERT", ""),
                            **(
                                {"metadata_url": env("IDP_SAML_METADATA_URL")}
                                if env("IDP_SAML_METADATA_URL")
                                else {}
                            ),
                        },
                        "email_authentication": link_by_email,
                        "verified_email": link_by_email,
                        # Signed assertions only; IdP-initiated answers are refused.
                        "advanced": {
                            "want_assertion_signed": True,
                            "reject_idp_initiated_sso": True,
                        },
                    },
                }
            ]
        }
    return providers


SOCIALACCOUNT_PROVIDERS = _socialaccount_providers()
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True  # a linked sign-in is remembered

# --- SCIM 2.0 provisioning (django-scim2; glue in idp/auth/scim.py, docs/sso.md) ---------
SCIM_SERVICE_PROVIDER = {
    "NETLOC": "localhost",  # unused: absolute URLs come from the request (base_location)
    "BASE_LOCATION_GETTER": "idp.auth.scim.base_location",
    "USER_ADAPTER": "idp.auth.scim.IdpSCIMUser",
    "GROUP_ADAPTER": "idp.auth.scim.IdpSCIMGroup",
    "USER_FILTER_PARSER": "idp.auth.scim_filters.IdpUserFilterQuery",
    "GROUP_FILTER_PARSER": "idp.auth.scim_filters.IdpGroupFilterQuery",
    "AUTH_CHECK_MIDDLEWARE": "idp.auth.scim.SCIMTokenAuthCheck",
    "GET_QUERYSET_POST_PROCESSOR_GETTER": "idp.auth.scim.group_queryset_post_processor",
    "GET_OBJECT_POST_PROCESSOR_GETTER": "idp.auth.scim.group_object_post_processor",
    "WWW_AUTHENTICATE_HEADER": 'Bearer realm="scim"',
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "An IDP API token with the scim scope (manage.py create_scim_token)",
            "primary": True,
        }
    ],
}

# --- Login rate limit (django-axes) ------------------------------------------
AXES_FAILURE_LIMIT = env_int("IDP_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("IDP_LOGIN_COOLOFF_MINUTES", 15))
# Per account (whatever identifier was typed, see idp.auth.axes) and, separately, per
# client address: a stranger's address being locked never locks alice's own address.
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "login"
AXES_USERNAME_CALLABLE = "idp.auth.axes.username_from"

# --- Object permissions (django-guardian) -------------------------------------
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "idp.api.authentication.BearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        # An API token's scopes (read/write/approve/admin/scim) per endpoint.
        "idp.api.permissions.TokenScopePermission",
    ],
    # DRF's three, with a nesting limit on JSON (deep JSON was a RecursionError, a 500).
    "DEFAULT_PARSER_CLASSES": [
        "idp.api.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "idp.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        # django-filter's, held to the documented parameter types (a bad value is a 400).
        "idp.api.fields.StrictFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "idp.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["idp.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env("IDP_API_RATE", "1200/minute")},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("IDP_JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("IDP_JWT_REFRESH_DAYS", 1)),
    "AUTH_HEADER_TYPES": ("Bearer",),
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "IDP API",
    "DESCRIPTION": "Internal Developer Platform: catalog, provisioning, pipelines, monitoring.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {},
}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "ResourceStatusEnum": "provisioning.choices.ResourceStatus",
        "RunStatusEnum": "provisioning.choices.RunStatus",
        "RunKindEnum": "provisioning.choices.RunKind",
        "PolicyKindEnum": "policies.choices.PolicyKind",
        "DeploymentStatusEnum": "pipelines.choices.DeploymentStatus",
        "RuntimeKindEnum": "pipelines.choices.RuntimeKind",
    }
)
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "idp.api.schema.document_default_errors",
    "idp.api.deprecation.mark_deprecated",
]

# --- Celery ---------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "memory://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(env("IDP_BROKER_DIR", str(BASE_DIR / "var" / "broker")))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        # kombu's exchange tables; its default is ./control in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("IDP_CELERY_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker's last resort behind the one run time limit (the runner enforces that one);
# tasks with a shorter limit of their own set a soft limit below it.
CELERY_TASK_TIME_LIMIT = conf.load()["IDP_RUN_TIME_LIMIT"] + 120
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# One beat at a time, however beat is started (compose, Kubernetes, by hand): the
# scheduler takes a lock first, and a second beat exits instead of sending every task twice.
CELERY_BEAT_SCHEDULER = "idp.beat_lock:SingleBeatScheduler"
CELERY_BEAT_SCHEDULE: dict = {}
# Every interval is multiplied by IDP_BEAT_SCALE (1 in production; tests and demos run the
# whole schedule faster), never below half a second.
_BEAT = conf.load()


def _every(seconds: float) -> timedelta:
    return timedelta(seconds=max(seconds * _BEAT["IDP_BEAT_SCALE"], 0.5))


CELERY_BEAT_SCHEDULE["pipelines-sync-runs"] = {
    "task": "pipelines.tasks.sync_pipeline_runs",
    "schedule": _every(300),
}
CELERY_BEAT_SCHEDULE["monitoring-collect-metrics"] = {
    "task": "monitoring.collect_metrics",
    "schedule": _every(60 * env_int("IDP_METRICS_EVERY_MINUTES", 5)),
}
CELERY_BEAT_SCHEDULE["monitoring-collect-costs"] = {
    "task": "monitoring.collect_costs",
    "schedule": _every(3600 * env_int("IDP_COSTS_EVERY_HOURS", 6)),
}
CELERY_BEAT_SCHEDULE["monitoring-collect-accuracy"] = {
    # Last month's estimates against its actuals (Cost Explorer settles within days).
    "task": "monitoring.collect_accuracy",
    "schedule": _every(86400),
}
CELERY_BEAT_SCHEDULE["monitoring-ship-run-logs"] = {
    # Run logs to CloudWatch Logs (when IDP_CLOUDWATCH_RUN_LOGS): what the nudges missed.
    "task": "monitoring.ship_run_logs",
    "schedule": _every(60),
}
CELERY_BEAT_SCHEDULE["idp-jobs-housekeeping"] = {
    # Every background job kind (idp/jobs), runs included: jobs of dead workers reaped (a lost
    # run: the workflow decides), lost nudges re-sent, due syncs queued, fleets driven (a held
    # plan that finished moves no status to nudge on).
    "task": "idp.jobs_housekeeping",
    "schedule": _every(10),
}
CELERY_BEAT_SCHEDULE["catalog-scan-locations"] = {
    # Discovery: catalog-info.yaml files of the registered locations (pushes scan sooner).
    "task": "catalog.scan_locations",
    "schedule": _every(60 * _BEAT["IDP_CATALOG_SCAN_MINUTES"]),
}
CELERY_BEAT_SCHEDULE["catalog-score-services"] = {
    # Daily, so each service's scorecard trend gains one point per day.
    "task": "catalog.score_services",
    "schedule": _every(86400),
}
CELERY_BEAT_SCHEDULE["idp-purge-workload-tokens"] = {
    # Platform tokens traded for CI OIDC tokens: one per pipeline run, gone a week after expiry.
    "task": "idp.purge_workload_tokens",
    "schedule": _every(86400),
}
CELERY_BEAT_SCHEDULE["provisioning-detect-drift"] = {
    "task": "provisioning.detect_drift",
    "schedule": _every(3600 * env_int("IDP_DRIFT_EVERY_HOURS", 6)),
}
CELERY_BEAT_SCHEDULE["provisioning-expire-pending-plans"] = {
    "task": "provisioning.expire_pending_plans",
    "schedule": _every(600),
}
CELERY_BEAT_SCHEDULE["provisioning-expire-resources"] = {
    "task": "provisioning.expire_resources",
    "schedule": _every(300),
}
CELERY_BEAT_SCHEDULE["provisioning-forget-old-plans"] = {
    "task": "provisioning.forget_old_plans",
    "schedule": _every(6 * 3600),
}
CELERY_BEAT_SCHEDULE["provisioning-push-pending-states"] = {
    "task": "provisioning.push_pending_states",
    "schedule": _every(60),
}
CELERY_BEAT_SCHEDULE["provisioning-sweep-workdirs"] = {
    "task": "provisioning.sweep_workdirs",
    "schedule": _every(600),
}
if _BEAT["IDP_STATE_BACKUP_EVERY_HOURS"] > 0:
    CELERY_BEAT_SCHEDULE["provisioning-backup-states"] = {
        "task": "provisioning.backup_states",
        "schedule": _every(3600 * _BEAT["IDP_STATE_BACKUP_EVERY_HOURS"]),
    }

# --- Cache ------------------------------------------------------------------------
if env("IDP_CACHE_URL", "").startswith("redis://"):
    CACHES = {
        "default": {
            # django-redis keeps one client per connection pool; Django's own backend builds
            # a new one per call, ~1 ms of CPU each, more than the round trip to Redis.
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": env("IDP_CACHE_URL"),
            # A Redis outage reads as a cache miss (logged), never as a failed request:
            # grants and counts come from the database, rate limits are not applied.
            "OPTIONS": {"IGNORE_EXCEPTIONS": True},
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Email ----------------------------------------------------------------------
EMAIL_BACKEND = env("IDP_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("IDP_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("IDP_EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env("IDP_FROM_EMAIL", "idp@localhost")

# --- Platform ---------------------------------------------------------------------
# The platform's own settings are declared once, typed and documented, in idp/conf.py.
globals().update(conf.load())
AWS_ENDPOINT_URL = conf.read("AWS_ENDPOINT_URL")
AWS_REGION = env("AWS_DEFAULT_REGION", env("AWS_REGION", "eu-west-1"))
IDP_TEMPLATE_DIRS = [BASE_DIR / "terraform_modules"] + [
    Path(p) for p in env_list("IDP_TEMPLATE_DIRS") if p
]
GITHUB_API_URL = conf.read("GITHUB_API_URL")
GITHUB_TOKEN = conf.read("GITHUB_TOKEN")
GITHUB_APP_ID = conf.read("GITHUB_APP_ID")
GITHUB_APP_PRIVATE_KEY = conf.read("GITHUB_APP_PRIVATE_KEY")
GITHUB_APP_INSTALLATION_ID = conf.read("GITHUB_APP_INSTALLATION_ID")
GITHUB_WEBHOOK_SECRET = conf.read("GITHUB_WEBHOOK_SECRET")
# /readyz: which checks (database, broker, workers, state_bucket) make it answer 503.
IDP_READINESS_REQUIRED = env_list("IDP_READINESS_REQUIRED", "database,broker")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "idp.logging.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(run_id)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": env("IDP_LOG_FORMAT", "plain"),
        }
    },
    "root": {"handlers": ["console"], "level": env("IDP_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # axes announces itself on every start; keep management commands quiet.
        "axes": {"level": "WARNING"},
        # Libraries' progress lines (each HTTP request, "Found credentials in environment
        # variables") are not news: commands print their result, the platform logs its own.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
        "boto3": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
# The platform's own logs (web, worker, beat) also go to CloudWatch Logs as JSON, through
# watchtower, when a log group is configured (see docs/observability.md).
if env("IDP_CLOUDWATCH_LOG_GROUP"):
    LOGGING["handlers"]["cloudwatch"] = {
        "()": "monitoring.log_handler.cloudwatch_handler",
        "filters": ["context"],
        "formatter": "json",
    }
    LOGGING["root"]["handlers"].append("cloudwatch")
