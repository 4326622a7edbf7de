"""The platform's own settings, declared once: name, type, default, meaning.

`config/settings/base.py` loads every declared setting from the environment (a variable of the
same name, or the one named in `env`), so code reads `settings.IDP_…` directly and never
guesses a default at the call site. `manage.py idp_settings` lists them with their values
(secrets hidden). This module imports nothing from Django: settings load it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent


def _bool(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _optional(text: str) -> str | None:
    return text.strip() or None


PARSERS: dict[Any, Callable[[str], Any]] = {
    int: int,
    float: float,
    str: str,
    bool: _bool,
    list: _list,
    Path: Path,
    "optional": _optional,
}


@dataclass(frozen=True)
class Setting:
    name: str
    type: Any  # int, float, str, bool, list, Path or "optional" (a string or None)
    default: Any
    doc: str
    env: str = ""  # the environment variable, when it is not named like the setting
    secret: bool = False
    # The value when the variable is unset, made from the others (instead of `default`).
    derive: Callable[[Mapping[str, str]], Any] | None = None

    @property
    def variable(self) -> str:
        return self.env or self.name

    def parse(self, environ: Mapping[str, str]) -> Any:
        raw = environ.get(self.variable)
        if not raw and self.derive is not None:
            return self.derive(environ)
        if raw is None or (raw == "" and self.type is not str):
            return self.default
        try:
            return PARSERS[self.type](raw)
        except ValueError as exc:
            raise ValueError(f"{self.variable}={raw!r}: {exc}") from None


# The portal's address follows the port `make run` serves it on, unless IDP_SITE_URL is set.
PORT = Setting("IDP_PORT", int, 8000, "Port `make run` serves the portal on")

DECLARED: tuple[Setting, ...] = (
    # Where configuration comes from
    Setting(
        "IDP_CONFIG_SSM_PREFIX",
        str,
        "",
        "Parameter Store path read at start (e.g. /idp/config/prod): each parameter named like "
        "a variable (SecureString for secrets) sets it, unless the environment already does",
    ),
    # Local files
    Setting(
        "IDP_VAR_DIR",
        Path,
        BASE_DIR / "var",
        "Where make run keeps its SQLite database, broker folders, logs and run-env.json",
    ),
    # Terraform runs
    Setting("IDP_TERRAFORM_BIN", "optional", None, "A terraform/tofu binary; unset = embedded"),
    Setting(
        "IDP_STATE_BACKEND_MAX_RETRIES",
        int,
        5,
        "Attempts Terraform's S3 state backend makes per call before it gives up",
    ),
    Setting("IDP_STATE_BUCKET", str, "idp-terraform-state", "S3 bucket of Terraform state"),
    Setting(
        "IDP_ARTIFACT_BUCKET",
        str,
        "idp-artifacts-{team}",
        "The team's artifact bucket: where a deployment's artifact given as a bare key is read "
        "({team} is the team's slug)",
    ),
    Setting("IDP_WORK_DIR", Path, BASE_DIR / "var" / "runs", "Where runs keep working dirs"),
    Setting(
        "IDP_PLUGIN_CACHE_DIR",
        Path,
        BASE_DIR / "var" / "terraform-plugin-cache",
        "Terraform provider cache",
        env="TF_PLUGIN_CACHE_DIR",
    ),
    Setting(
        "IDP_PROVIDER_REGISTRY_REACHABLE",
        bool,
        False,
        "Workers can download Terraform providers from their registries; unset = only "
        "built-in providers and those a provider mirror holds count as available",
    ),
    Setting("IDP_RUN_QUEUE", "optional", None, "Celery queue of Terraform runs; unset = default"),
    Setting("IDP_RUN_TIME_LIMIT", int, 3600, "One run's time limit in seconds (the only one)"),
    Setting("IDP_RUN_HEARTBEAT_TIMEOUT", int, 120, "Seconds without heartbeat: run is lost"),
    Setting("IDP_CANCEL_GRACE_SECONDS", float, 30.0, "Seconds Terraform gets to stop on cancel"),
    Setting("IDP_SWEEP_GRACE_SECONDS", int, 30, "Seconds before a queued run is re-sent"),
    # Background jobs (idp/jobs): docs builds, syncs, scans, deliveries, collections
    Setting(
        "IDP_JOB_HEARTBEAT_TIMEOUT",
        int,
        120,
        "Seconds without a heartbeat before a background job's worker counts as lost",
    ),
    Setting(
        "IDP_JOB_SWEEP_GRACE_SECONDS", int, 60, "Seconds before a queued background job is re-sent"
    ),
    Setting(
        "IDP_JOB_WORK_DIR",
        "optional",
        None,
        "Where background jobs keep their temporary folders; unset = the system's temp folder",
    ),
    Setting("IDP_KEPT_PLAN_DIR_MAX_AGE", float, 24 * 3600.0, "Seconds a plan's dir is kept"),
    Setting("IDP_ENCRYPTION_KEY", str, "", "Key for secrets at rest", secret=True),
    # Approvals
    Setting("IDP_APPROVAL_TTL_HOURS", int, 72, "Hours a plan may wait, and an approval lasts"),
    Setting(
        "IDP_PLAN_RETENTION_DAYS",
        int,
        90,
        "Days a plan's JSON is kept (encrypted) for re-evaluation and policy what-ifs",
    ),
    Setting(
        "IDP_APPROVAL_COST_SHARE",
        float,
        0.5,
        "Share of a team's remaining monthly budget a plan's cost increase may take before "
        "the approval rules ask for a team admin",
    ),
    PORT,
    Setting(
        "IDP_SITE_URL",
        str,
        "http://localhost:8000",
        "The portal's address as users reach it (links in e-mails and webhook messages); "
        "unset = http://localhost:IDP_PORT",
        derive=lambda environ: f"http://localhost:{PORT.parse(environ)}",
    ),
    # GitHub
    Setting("IDP_GITHUB_TIMEOUT", int, 15, "Seconds per GitHub API call"),
    Setting("IDP_GITHUB_WRITE_PACING", float, 1.0, "Seconds between GitHub writes"),
    Setting("IDP_PIPELINE_QUIET_MINUTES", int, 10, "Minutes without a webhook before polling"),
    Setting("IDP_ACTIONLINT_BIN", str, "", "An actionlint binary; empty = the bundled one"),
    # Catalog
    Setting(
        "IDP_DB_RANDOM_PAGE_COST",
        float,
        1.1,
        "PostgreSQL's random_page_cost for the platform's connections (1.1 suits SSD storage: "
        "catalog search uses its trigram index for common words); 0 = the server's own",
    ),
    Setting(
        "IDP_CATALOG_SCAN_MINUTES",
        int,
        60,
        "Minutes between scans of the catalog's registered locations (push webhooks add more)",
    ),
    Setting(
        "IDP_DOCS_ALLOWED_HOSTS",
        list,
        [],
        "Hosts docs builds may clone from although they resolve to a private, loopback or "
        "link-local address (an internal Git server), comma-separated; others must be public",
    ),
    Setting(
        "IDP_TEMPLATE_SOURCE_SYNC_MINUTES",
        int,
        30,
        "Minutes between syncs of each template source (push/tag webhooks sync sooner)",
    ),
    # Monitoring
    Setting(
        "IDP_SLACK_WEBHOOK_URL",
        str,
        "",
        "Slack-compatible webhook for alerts and plan notifications",
        secret=True,
    ),
    Setting("IDP_METRICS_LOOKBACK_HOURS", int, 3, "Hours of CloudWatch metrics per collection"),
    Setting("IDP_METRICS_PERIOD_SECONDS", int, 300, "CloudWatch metric period"),
    Setting("IDP_AWS_RETRY_ATTEMPTS", int, 4, "Attempts per AWS call in collections"),
    Setting("IDP_AWS_RETRY_WAIT_MAX", float, 8.0, "Longest wait between AWS attempts, seconds"),
    # Pricing: the price catalog, its refresh and the accuracy of estimates
    Setting(
        "IDP_PRICING_REGION",
        str,
        "us-east-1",
        "Region whose price catalog prices environments of a region that has none",
    ),
    Setting(
        "IDP_PRICING_ENDPOINT",
        str,
        "",
        "Price List Query API endpoint for `refresh_prices`; empty = AWS's own "
        "(AWS_ENDPOINT_URL is not used: local AWS APIs have no price list)",
    ),
    Setting(
        "IDP_COST_CORRECTION",
        bool,
        False,
        "Correct plan estimates by each template's actual/estimate ratio of past months "
        "(both figures are shown)",
    ),
    Setting(
        "IDP_COST_ACCURACY_THRESHOLD",
        float,
        25.0,
        "Percent an actual may differ from its estimate before the resource is listed",
    ),
    # Monitoring in CloudWatch: platform and run logs, dashboards, alarm notifications (SNS)
    Setting(
        "IDP_CLOUDWATCH_LOG_GROUP",
        str,
        "",
        "CloudWatch Logs group of the platform's own logs (web, worker, beat); empty = off",
    ),
    Setting("IDP_CLOUDWATCH_RUN_LOGS", bool, False, "Ship every run's log to CloudWatch Logs"),
    Setting(
        "IDP_CLOUDWATCH_RUN_LOG_PREFIX",
        str,
        "/idp/runs",
        "Run log groups are <prefix>/<environment>/<team>",
    ),
    Setting("IDP_CLOUDWATCH_LOG_RETENTION_DAYS", int, 30, "Days CloudWatch keeps IDP log groups"),
    Setting(
        "IDP_CLOUDWATCH_DASHBOARDS",
        bool,
        True,
        "Keep a CloudWatch dashboard per service and environment as resources come and go",
    ),
    Setting(
        "IDP_SNS_ENDPOINT_URL",
        str,
        "",
        "Public URL SNS posts alarm notifications to; empty = IDP_SITE_URL + /hooks/sns/",
    ),
    Setting(
        "IDP_SNS_CERT_URL_PATTERN",
        str,
        r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/"
        r"SimpleNotificationService-[A-Za-z0-9]+\.pem$",
        "Regex a SigningCertURL must match before its certificate is fetched",
    ),
    # Policies
    Setting("IDP_POLICY_DIRS", list, [], "Folders of extra Rego policies (comma-separated)"),
    Setting("IDP_POLICY_NAMESPACE", str, "idp", "Rego package namespace policies live under"),
    # Single sign-on and SCIM (docs/sso.md)
    Setting(
        "IDP_SSO_GROUPS_CLAIM",
        str,
        "groups",
        "OIDC claim / SAML attribute that lists the user's IdP groups",
    ),
    Setting(
        "IDP_SSO_GROUP_MAPPINGS",
        list,
        [],
        "Group mappings besides the admin's: PATTERN=TEAM:ROLE[:add_only], comma-separated",
    ),
    Setting(
        "IDP_SSO_LINK_BY_EMAIL",
        bool,
        False,
        "An OIDC/SAML sign-in whose IdP-verified e-mail matches an existing user (e.g. one "
        "SCIM created) signs in as that user; only with an IdP you trust for e-mails",
    ),
    Setting(
        "IDP_SSO_HELP_CONTACT",
        str,
        "your platform team",
        "Whom a signed-in user without a team is told to ask (a name, address or channel)",
    ),
    # API tokens, service accounts and workload identity (GitHub Actions OIDC)
    Setting("IDP_TOKEN_DEFAULT_DAYS", int, 90, "Days a new API token lasts unless told"),
    Setting("IDP_TOKEN_MAX_DAYS", int, 365, "Longest lifetime a new API token may be given"),
    Setting(
        "IDP_IDEMPOTENCY_TTL_HOURS",
        float,
        24.0,
        "Hours an API write's Idempotency-Key and its stored answer are kept (then purged)",
    ),
    Setting(
        "IDP_GITHUB_OIDC_ISSUER",
        str,
        "https://token.actions.githubusercontent.com",
        "Issuer of the GitHub Actions OIDC tokens traded for platform tokens (GHE: its own)",
    ),
    Setting(
        "IDP_GITHUB_OIDC_AUDIENCE",
        str,
        "",
        "Audience those tokens must name; empty = IDP_SITE_URL",
    ),
    Setting(
        "IDP_GITHUB_OIDC_JWKS_URL",
        str,
        "",
        "Key set of that issuer; empty = <issuer>/.well-known/jwks",
    ),
    Setting(
        "IDP_GITHUB_OIDC_TOKEN_MINUTES",
        int,
        60,
        "Minutes a platform token traded for a GitHub Actions OIDC token lasts",
    ),
    Setting(
        "IDP_API_SCHEMA_PUBLIC",
        bool,
        False,
        "/api/schema/ and /api/docs/ answer strangers too (dev and test settings turn it on); "
        "off: only signed-in users and API tokens",
    ),
    # Health
    Setting("IDP_READINESS_TIMEOUT", float, 1.0, "Seconds per /readyz check"),
    Setting(
        "IDP_READINESS_CACHE_SECONDS",
        float,
        1.5,
        "Seconds a process reuses its /readyz answer (0: check on every call)",
    ),
    Setting(
        "IDP_WORKER_HEARTBEAT_SECONDS",
        float,
        10.0,
        "Seconds between a Celery worker's heartbeats (a row in the database /readyz reads)",
    ),
    Setting(
        "IDP_WORKER_HEARTBEAT_STALE_SECONDS",
        float,
        30.0,
        "Seconds after its last heartbeat a worker counts as gone: /readyz's workers check "
        "fails when no worker beat within them",
    ),
    Setting("IDP_METRICS_TOKEN", str, "", "Bearer token Prometheus sends to /metrics", secret=True),
    Setting(
        "IDP_METRICS_REQUIRE_TOKEN",
        bool,
        False,
        "/metrics is off (404) without IDP_METRICS_TOKEN (on in production settings)",
    ),
    # Recovery: logs, database blips, state kept after a failed write, backups, the schedule
    Setting("IDP_RUN_LOG_MAX_BYTES", int, 50 * 1024 * 1024, "Bytes of a run's log kept"),
    Setting(
        "IDP_DB_RETRY_SECONDS",
        float,
        15.0,
        "Seconds a run's bookkeeping write (heartbeat, log, result) retries a lost database",
    ),
    Setting(
        "IDP_STATE_PUSH_RETRY_SECONDS",
        float,
        60.0,
        "First wait before pushing a state an apply could not store; doubles, at most 1 h",
    ),
    Setting("IDP_STATE_BACKUP_BUCKET", str, "", "Bucket of state backups; empty = the state's"),
    Setting("IDP_STATE_BACKUP_GENERATIONS", int, 14, "State backups kept (newest first)"),
    Setting("IDP_STATE_BACKUP_EVERY_HOURS", float, 24.0, "Hours between state backups; 0 = off"),
    Setting(
        "IDP_BEAT_SCALE",
        float,
        1.0,
        "Factor on every beat interval (tests and demos run the schedule faster)",
    ),
    # AWS and GitHub (the clients read these; unset AWS_ENDPOINT_URL = real AWS)
    Setting(
        "AWS_ENDPOINT_URL",
        "optional",
        None,
        "AWS API endpoint (a local AWS API in dev and tests); unset = real AWS",
    ),
    Setting(
        "IDP_SANDBOX_AWS_ENDPOINT",
        str,
        "",
        "AWS endpoint of the demo's sandbox environment (seed_demo); empty = AWS_ENDPOINT_URL",
    ),
    Setting("GITHUB_API_URL", str, "https://api.github.com", "GitHub (Enterprise) API address"),
    Setting("GITHUB_TOKEN", str, "", "GitHub token of the platform (or use an app)", secret=True),
    Setting("GITHUB_APP_ID", str, "", "GitHub App id (instead of GITHUB_TOKEN)"),
    Setting("GITHUB_APP_PRIVATE_KEY", str, "", "GitHub App private key (PEM)", secret=True),
    Setting("GITHUB_APP_INSTALLATION_ID", str, "", "GitHub App installation id"),
    Setting(
        "GITHUB_WEBHOOK_SECRET", str, "", "Secret GitHub signs webhook deliveries with", secret=True
    ),
)

BY_NAME = {s.name: s for s in DECLARED}


def load(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every declared setting's value from the environment (settings modules call this)."""
    environ = os.environ if environ is None else environ
    return {s.name: s.parse(environ) for s in DECLARED}


def describe(values: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(variable, value, meaning) of each declared setting, secrets hidden."""
    rows = []
    for s in DECLARED:
        value = values.get(s.name, s.default)
        shown = ("(set)" if value else "(unset)") if s.secret else str(value)
        rows.append((s.variable, shown, s.doc))
    return rows


def setting(name: str) -> Any:
    """The value of a declared setting, as Django's settings hold it now (so tests can
    override it); an undeclared name is a programming error, not a silent default."""
    if name not in BY_NAME:
        raise KeyError(f"{name} is not declared in idp/conf.py")
    from django.conf import settings

    return getattr(settings, name)


# --- Reading the environment ------------------------------------------------------------
# The one reader of the process environment: the settings package loads the declared
# settings above with `load`/`read`, and Django's, Celery's and the libraries' own settings
# (database, broker, cache, e-mail, sign-in providers) with `env`/`env_bool`/`env_int`/
# `env_list`. `tests/foundation/test_settings_reader.py` keeps every other module off
# `os.environ` (except where a child process's environment is built).


def read(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The typed value of the declared setting `name` from the environment."""
    return BY_NAME[name].parse(os.environ if environ is None else environ)


def env(name: str, default: str = "") -> str:
    """An environment variable as text (`default` when unset)."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    """An environment variable as a yes/no (1, true, yes, on)."""
    value = os.environ.get(name)
    return default if value is None else _bool(value)


def env_int(name: str, default: int) -> int:
    """An environment variable as a whole number (`default` when unset or empty)."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    """An environment variable as a comma-separated list."""
    return _list(os.environ.get(name, default))
