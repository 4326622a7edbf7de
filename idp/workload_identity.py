"""Workload identity: a GitHub Actions job trades its OIDC token for a short-lived platform
token of the service account its repository is bound to, so a generated pipeline calls the
platform without a stored secret.

The OIDC token is checked against the issuer's published key set (IDP_GITHUB_OIDC_JWKS_URL,
by default `<issuer>/.well-known/jwks`), its issuer (IDP_GITHUB_OIDC_ISSUER, GitHub's or a
GitHub Enterprise server's), audience (IDP_GITHUB_OIDC_AUDIENCE) and lifetime. Each token is
traded once, across every process: its issuer and `jti` go into a table with a unique key
(`UsedOIDCToken`) in the exchange's transaction, so of two processes racing with one token
only one INSERT wins; rows are pruned once the token could no longer be presented.

Its `repository` claim (and `ref`/`environment`, when the binding narrows them) must match a
binding of an enabled service account, and its `repository_id` and `repository_owner_id`
must be the ids the binding is pinned to: given when the binding is made, or else taken from
the first successful exchange (trust on first use), so a repository deleted and created
again under the same name, or an owner name taken over, is refused. A repository name is
bound by one team only; should two teams' bindings share a name anyway (rows from before
the rule, a race), the exchange refuses rather than pick one.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

import jwt
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from . import audit
from .choices import AuditAction
from .conf import setting
from .models import APIToken, UsedOIDCToken, WorkloadIdentityBinding
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


@dataclass(frozen=True)
class RepositoryIds:
    """GitHub's numeric ids of the token's repository and of its owner."""

    repository: int
    owner: int


_GITHUB_ID = re.compile(r"[0-9]{1,19}")


def repository_ids(claims: dict[str, Any]) -> RepositoryIds:
    """The token's repository_id and repository_owner_id (GitHub always sends both), or
    NotTrusted: without them a re-created repository cannot be told from the bound one."""
    found: list[int] = []
    for claim in ("repository_id", "repository_owner_id"):
        value = claims.get(claim)
        text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
        if not _GITHUB_ID.fullmatch(text):
            raise NotTrusted(f"The OIDC token has no valid {claim} claim")
        found.append(int(text))
    return RepositoryIds(repository=found[0], owner=found[1])


def _pinned_to(binding: WorkloadIdentityBinding, ids: RepositoryIds) -> bool:
    """Whether the binding's ids, where set, are the token's."""
    return binding.repository_id in (None, ids.repository) and (
        binding.repository_owner_id in (None, ids.owner)
    )


def _matches(binding: WorkloadIdentityBinding, claims: dict[str, Any]) -> bool:
    if binding.ref_pattern and not fnmatchcase(str(claims.get("ref") or ""), binding.ref_pattern):
        return False
    if binding.environment_pattern:
        environment = claims.get("environment")
        if not environment or not fnmatchcase(str(environment), binding.environment_pattern):
            return False
    return True


def binding_for(claims: dict[str, Any], ids: RepositoryIds) -> WorkloadIdentityBinding:
    """The first binding (oldest first) of an enabled service account that trusts the
    token's repository (name and ids), ref and environment; 403 when none does, or when the
    name is bound by more than one team."""
    repository = str(claims.get("repository") or "")
    named = WorkloadIdentityBinding.objects.filter(repository__iexact=repository)
    if named.values("service_account__team").distinct().count() > 1:
        logger.warning("Repository %s is bound by more than one team; exchange refused", repository)
        raise Forbidden(
            f"{repository} is bound by more than one team; a platform admin must remove the "
            "binding that is not the repository owner's."
        )
    candidates = (
        named.filter(service_account__disabled_at__isnull=True)
        .select_related("service_account__user", "service_account__team")
        .order_by("pk")
    )
    other_ids = False
    for binding in candidates:
        if not _matches(binding, claims):
            continue
        if _pinned_to(binding, ids):
            return binding
        other_ids = True
    if other_ids:
        raise Forbidden(
            f"{repository} is bound with another repository id or owner id: the repository "
            "(or its owner) was deleted and created again under the same name. Remove the "
            "binding and bind it again if this is the repository to trust."
        )
    where = f"{repository} (ref {claims.get('ref') or '-'}"
    where += f", environment {claims.get('environment')})" if claims.get("environment") else ")"
    raise Forbidden(f"No service account trusts {where}.")


def _pin(binding: WorkloadIdentityBinding, ids: RepositoryIds) -> None:
    """Trust on first use: the team's bindings of this repository name that have no ids yet
    take the token's, so later tokens must come from this very repository."""
    same = WorkloadIdentityBinding.objects.filter(
        service_account__team_id=binding.service_account.team_id,
        repository__iexact=binding.repository,
    )
    same.filter(repository_id__isnull=True).update(repository_id=ids.repository)
    same.filter(repository_owner_id__isnull=True).update(repository_owner_id=ids.owner)
    if binding.repository_id is None:
        binding.repository_id = ids.repository
    if binding.repository_owner_id is None:
        binding.repository_owner_id = ids.owner


def _claim_once(claims: dict[str, Any]) -> None:
    """Refuse a token traded before (a leaked OIDC token gives nothing twice), whichever
    process saw it: one INSERT on a unique key, so of two racing exchanges one fails."""
    jti = str(claims.get("jti") or "")
    if not jti:
        # Without a jti two exchanges of one token cannot be told apart (GitHub always sets it).
        raise NotTrusted("The OIDC token has no jti claim")
    key = hashlib.sha256(f"{issuer()}\n{jti}".encode()).hexdigest()
    # Kept while the token could still be presented: its expiry plus the leeway.
    expires_at = datetime.fromtimestamp(int(claims["exp"]), tz=UTC) + timedelta(
        seconds=LEEWAY_SECONDS
    )
    try:
        with transaction.atomic():
            UsedOIDCToken.objects.create(key=key, expires_at=expires_at)
    except IntegrityError as exc:
        raise NotTrusted("This OIDC token was already exchanged") from exc


@transaction.atomic
def exchange_github_oidc_token(raw: str) -> Exchange:
    """Trade a GitHub Actions OIDC token for a platform token of the bound service account,
    valid IDP_GITHUB_OIDC_TOKEN_MINUTES, limited to its team and the binding's scopes."""
    claims = verify_github_oidc_token(raw)
    ids = repository_ids(claims)
    # First, so racing exchanges of one token meet on the unique key before anything else.
    _claim_once(claims)
    binding = binding_for(claims, ids)
    _pin(binding, ids)
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
            "repository_id": ids.repository,
            "repository_owner_id": ids.owner,
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
    """Delete platform tokens traded for OIDC tokens that expired ISSUED_TOKENS_KEPT ago (their
    count is returned), and the records of used OIDC tokens that can no longer be presented."""
    now = now or timezone.now()
    UsedOIDCToken.objects.filter(expires_at__lt=now).delete()
    cutoff = now - ISSUED_TOKENS_KEPT
    issued = Q(workload_binding__isnull=False) | Q(
        name__startswith=ISSUED_TOKEN_PREFIX, user__service_account__isnull=False
    )
    deleted, _ = APIToken.objects.filter(issued, expires_at__lt=cutoff).delete()
    return deleted
