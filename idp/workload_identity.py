"""Workload identity: a GitHub Actions job trades its OIDC token for a short-lived platform
token of the service account its repository is bound to, so a generated pipeline calls the
platform without a stored secret.

The OIDC token is checked against the issuer's published key set (IDP_GITHUB_OIDC_JWKS_URL,
by default `<issuer>/.well-known/jwks`), its issuer (IDP_GITHUB_OIDC_ISSUER, GitHub's or a
GitHub Enterprise server's), audience (IDP_GITHUB_OIDC_AUDIENCE) and lifetime; each token is
traded once. Its `repository` claim (and `ref`/`environment`, when the binding narrows them)
must match a binding of an enabled service account.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

import jwt
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import audit
from .choices import AuditAction
from .conf import setting
from .models import APIToken, WorkloadIdentityBinding
from .services import Forbidden, ServiceError, create_api_token

logger = logging.getLogger(__name__)

ALGORITHMS = ["RS256"]
ISSUED_TOKEN_PREFIX = "github-oidc "
LEEWAY_SECONDS = 30
JWKS_TIMEOUT_SECONDS = 5


class NotTrusted(ServiceError):
    """The OIDC token is not one we accept (signature, issuer, audience, expiry, reuse)."""

    status = 401


class IssuerUnavailable(ServiceError):
    status = 503


@dataclass(frozen=True)
class Exchange:
    """What a trade gave: the platform token (record and raw value) and its binding."""

    token: APIToken
    raw: str
    binding: WorkloadIdentityBinding


def issuer() -> str:
    return str(setting("IDP_GITHUB_OIDC_ISSUER")).rstrip("/")


def audience() -> str:
    return str(setting("IDP_GITHUB_OIDC_AUDIENCE") or setting("IDP_SITE_URL"))


def jwks_url() -> str:
    return str(setting("IDP_GITHUB_OIDC_JWKS_URL") or f"{issuer()}/.well-known/jwks")


_clients: dict[str, jwt.PyJWKClient] = {}
_clients_lock = threading.Lock()


def _jwks_client(url: str) -> jwt.PyJWKClient:
    """One client per key set URL, so keys are fetched once and refreshed when the issuer
    signs with a key id we have not seen (key rotation)."""
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = jwt.PyJWKClient(url, cache_keys=True, timeout=JWKS_TIMEOUT_SECONDS)
            _clients[url] = client
        return client


def verify_github_oidc_token(raw: str) -> dict[str, Any]:
    """The claims of a valid GitHub Actions OIDC token, or NotTrusted (IssuerUnavailable when
    the key set cannot be fetched)."""
    if not raw or not isinstance(raw, str):
        raise ServiceError("Give the GitHub Actions OIDC token", field="token")
    try:
        key = _jwks_client(jwks_url()).get_signing_key_from_jwt(raw)
    except jwt.PyJWKClientConnectionError as exc:
        logger.warning("OIDC key set %s unavailable: %s", jwks_url(), exc)
        raise IssuerUnavailable("The OIDC issuer's key set cannot be fetched; retry") from exc
    except jwt.PyJWTError as exc:
        raise NotTrusted(f"The OIDC token is not valid: {exc}") from exc
    try:
        claims: dict[str, Any] = jwt.decode(
            raw,
            key.key,
            algorithms=ALGORITHMS,
            audience=audience(),
            issuer=issuer(),
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "repository"]},
        )
    except jwt.PyJWTError as exc:
        raise NotTrusted(f"The OIDC token is not valid: {exc}") from exc
    return claims


def _matches(binding: WorkloadIdentityBinding, claims: dict[str, Any]) -> bool:
    if binding.ref_pattern and not fnmatchcase(str(claims.get("ref") or ""), binding.ref_pattern):
        return False
    if binding.environment_pattern:
        environment = claims.get("environment")
        if not environment or not fnmatchcase(str(environment), binding.environment_pattern):
            return False
    return True


def binding_for(claims: dict[str, Any]) -> WorkloadIdentityBinding:
    """The first binding (oldest first) of an enabled service account that trusts the
    token's repository, ref and environment; 403 when none does."""
    repository = str(claims.get("repository") or "")
    candidates = (
        WorkloadIdentityBinding.objects.filter(
            repository__iexact=repository, service_account__disabled_at__isnull=True
        )
        .select_related("service_account__user", "service_account__team")
        .order_by("pk")
    )
    for binding in candidates:
        if _matches(binding, claims):
            return binding
    where = f"{repository} (ref {claims.get('ref') or '-'}"
    where += f", environment {claims.get('environment')})" if claims.get("environment") else ")"
    raise Forbidden(f"No service account trusts {where}.")


def _claim_once(claims: dict[str, Any]) -> None:
    """Refuse a token traded before (a leaked OIDC token gives nothing twice)."""
    jti = str(claims.get("jti") or "")
    if not jti:
        raise NotTrusted("The OIDC token has no jti claim")
    ttl = max(int(claims["exp"]) - int(claims["iat"]), 0) + 2 * LEEWAY_SECONDS
    if not cache.add(f"idp:oidc:jti:{issuer()}:{jti}", 1, timeout=ttl):
        raise NotTrusted("This OIDC token was already exchanged")


@transaction.atomic
def exchange_github_oidc_token(raw: str) -> Exchange:
    """Trade a GitHub Actions OIDC token for a platform token of the bound service account,
    valid IDP_GITHUB_OIDC_TOKEN_MINUTES, limited to its team and the binding's scopes."""
    claims = verify_github_oidc_token(raw)
    binding = binding_for(claims)
    _claim_once(claims)
    account = binding.service_account
    run = str(claims.get("run_id") or "")
    token, platform_raw = create_api_token(
        account.user,
        name=f"{ISSUED_TOKEN_PREFIX}{binding.repository} run {run}".strip(),
        scopes=binding.scopes or None,
        lifetime=timedelta(minutes=setting("IDP_GITHUB_OIDC_TOKEN_MINUTES")),
        actor=account.user,
        workload_binding=binding,
    )
    audit.record(
        AuditAction.WORKLOAD_TOKEN_ISSUED,
        actor=account.user,
        target=binding,
        team=account.team,
        details={
            "repository": claims.get("repository"),
            "ref": claims.get("ref"),
            "environment": claims.get("environment"),
            "workflow": claims.get("job_workflow_ref") or claims.get("workflow"),
            "github_run_id": run,
            "sha": claims.get("sha"),
            "github_actor": claims.get("actor"),
            "service": binding.service_slug,
            "token_prefix": token.key_prefix,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )
    return Exchange(token=token, raw=platform_raw, binding=binding)


# Platform tokens issued to CI are kept this long after they expire (the token list and
# audit trail show them), then deleted: one row per pipeline run would otherwise pile up.
ISSUED_TOKENS_KEPT = timedelta(days=7)


def purge_expired_workload_tokens(now: datetime | None = None) -> int:
    """Delete platform tokens traded for OIDC tokens that expired ISSUED_TOKENS_KEPT ago."""
    cutoff = (now or timezone.now()) - ISSUED_TOKENS_KEPT
    issued = Q(workload_binding__isnull=False) | Q(
        name__startswith=ISSUED_TOKEN_PREFIX, user__service_account__isnull=False
    )
    deleted, _ = APIToken.objects.filter(issued, expires_at__lt=cutoff).delete()
    return deleted
