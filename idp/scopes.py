"""API token scopes: the one place that decides them.

It owns the scope names, what each scope lets a token do (only itself: write never implies
approve, admin implies nothing else), which scopes a token may be given and by whom (a
person's, a service account's, the SCIM service user's by a platform admin only), the
defaults, the narrowing by the token a new one is made through, which scopes an API request
needs, and the check `token_allows(token, needed)`. Token creation (`idp.services`), workload
bindings (`idp.service_accounts`), the API (`idp.api.permissions`, `idp.api.authentication`)
and SCIM (`idp.auth.scim`) ask it; none decides on its own.

The rules here are pure: callers resolve who is who (service account, platform admin) and
translate a `ScopeRefused` into their error. Importing nothing of the platform keeps
`idp.choices` (which re-exports the names) free of import cycles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.db import models


class TokenScope(models.TextChoices):
    """What an API token may do; no scope implies another (write never implies approve)."""

    READ = "read", "Read"
    WRITE = "write", "Write"
    APPROVE = "approve", "Approve"
    ADMIN = "admin", "Admin"
    SCIM = "scim", "SCIM provisioning"


READ, WRITE, APPROVE, ADMIN, SCIM = (s.value for s in TokenScope)

# What holding a scope grants: itself only. A decision on a plan (approve) and a platform
# admin's power (admin) are never a side effect of being able to change things (write).
IMPLIES: Mapping[str, frozenset[str]] = {scope: frozenset({scope}) for scope in TokenScope.values}

# The scopes a person's token may carry; SCIM is only ever given on purpose.
PERSONAL_TOKEN_SCOPES: tuple[TokenScope, ...] = (
    TokenScope.READ,
    TokenScope.WRITE,
    TokenScope.APPROVE,
    TokenScope.ADMIN,
)
# Least privilege: a person's new token only reads unless more is chosen (portal form, API,
# `manage.py create_api_token`, CLI); write, approve and admin are given only when asked for.
PERSONAL_DEFAULT_SCOPES: tuple[TokenScope, ...] = (TokenScope.READ,)
# Scopes that decide plans or act as a platform admin: chosen on purpose, marked as powerful.
POWERFUL_SCOPES: frozenset[str] = frozenset({APPROVE, ADMIN})
# A service account never approves nor administers the platform.
SERVICE_ACCOUNT_SCOPES: tuple[TokenScope, ...] = (TokenScope.READ, TokenScope.WRITE)
# The one user whose tokens carry the scim scope (given by a platform admin only): the scope
# provisions every user of the platform, so no person may hold it.
SCIM_SERVICE_USER = "scim-provisioner"
SCIM_TOKEN_SCOPES: tuple[TokenScope, ...] = (TokenScope.SCIM,)

# API endpoints (URL names) whose call is a decision on a plan, and the scopes it needs.
DECISION_ROUTES: Mapping[str, tuple[str, ...]] = {
    "resource-approve": (APPROVE,),
    "resource-reject": (APPROVE,),
    "deployment-approve": (APPROVE,),
    "deployment-reject": (APPROVE,),
    # Break-glass and policy overrides are platform-admin powers on top of the decision.
    "resource-break-glass": (APPROVE, ADMIN),
    "resource-override-policy": (APPROVE, ADMIN),
}
# API endpoints only platform admins may call, by URL name and method.
ADMIN_ROUTES: frozenset[tuple[str, str]] = frozenset({("team-list", "POST")})


class ScopeRefused(Exception):
    """A token may not have the scopes asked for. `forbidden`: the token the request acts
    through is too weak (403), else the request itself is wrong (400 on `field`)."""

    def __init__(self, message: str, *, forbidden: bool = False, field: str = "scopes"):
        super().__init__(message)
        self.message = message
        self.forbidden = forbidden
        self.field = field


def _as_tuple(needed: str | Iterable[str]) -> tuple[str, ...]:
    return (needed,) if isinstance(needed, str) else tuple(str(s) for s in needed)


def granted_by(scopes: Iterable[str]) -> frozenset[str]:
    """Everything a token holding `scopes` may do (each scope with what it implies)."""
    held: set[str] = set()
    for scope in scopes:
        held |= IMPLIES.get(str(scope), frozenset())
    return frozenset(held)


def missing_scope(token: Any, needed: str | Iterable[str]) -> str | None:
    """The first of `needed` that `token` (an APIToken) does not allow, or None. The scim
    scope counts only on the SCIM service user's tokens, whatever another token's row says."""
    held = granted_by(token.scopes or ())
    for scope in _as_tuple(needed):
        if scope not in held:
            return scope
        if scope == SCIM and token.user.get_username() != SCIM_SERVICE_USER:
            return scope
    return None


def token_allows(token: Any, needed: str | Iterable[str]) -> bool:
    """Whether the API token may do what needs every scope of `needed`."""
    return missing_scope(token, needed) is None


def needed_for_request(method: str, route: str | None, path: str) -> tuple[str, ...]:
    """The scopes a token needs for an API request: `scim` under /scim/, `approve` (and
    `admin`) for decisions on plans, `admin` for platform-admin endpoints, else `read` for
    safe methods and `write` for the rest."""
    if path.startswith("/scim/") or "/scim/" in path:
        return (SCIM,)
    if route is not None and route in DECISION_ROUTES:
        return DECISION_ROUTES[route]
    if (route, method) in ADMIN_ROUTES:
        return (ADMIN,)
    if method in ("GET", "HEAD", "OPTIONS"):
        return (READ,)
    return (WRITE,)


def grantable(
    user: Any, *, service_account: bool, by_platform_admin: Callable[[], bool]
) -> tuple[str, ...]:
    """The scopes a token of `user` may carry: a service account's read and write; the SCIM
    service user's scim, and only when a platform admin makes it (`by_platform_admin`, asked
    only then); a person's the rest."""
    if service_account:
        return tuple(SERVICE_ACCOUNT_SCOPES)
    if user.get_username() == SCIM_SERVICE_USER and by_platform_admin():
        return tuple(SCIM_TOKEN_SCOPES)
    return tuple(PERSONAL_TOKEN_SCOPES)


def asked_or_default(requested: Iterable[str] | None, *, service_account: bool) -> list[str] | None:
    """The scopes a token made on a surface (portal form, API, `manage.py create_api_token`)
    asks for: what was chosen, else a person's least-privilege default (read only). A service
    account's token unasked keeps everything the account may have (None: read and write, as
    narrowed by `for_new_token`), since its tokens serve CI and it never holds more."""
    if requested is not None:
        return [str(scope) for scope in requested]
    if service_account:
        return None
    return [str(scope) for scope in PERSONAL_DEFAULT_SCOPES]


def _chosen(requested: Iterable[str], allowed: Sequence[str]) -> list[str]:
    """The scopes asked for: known, allowed for the token's owner, at least one, in order."""
    wanted = {str(scope).strip() for scope in requested}
    unknown = sorted(wanted - set(TokenScope.values))
    if unknown:
        raise ScopeRefused(
            f"Unknown scope {unknown[0]!r}; choose from {', '.join(TokenScope.values)}"
        )
    refused = [scope for scope in TokenScope.values if scope in wanted and scope not in allowed]
    if refused:
        raise ScopeRefused(
            f"This token cannot have the {refused[0]!r} scope (it may have "
            f"{', '.join(allowed)}; SCIM tokens come from `manage.py create_scim_token`)"
        )
    if not wanted:
        raise ScopeRefused("Choose at least one scope")
    return [scope for scope in TokenScope.values if scope in wanted]


def for_new_token(
    requested: Iterable[str] | None,
    *,
    allowed: Sequence[str],
    via: Sequence[str] | None = None,
) -> list[str]:
    """The scopes a new token gets. Unasked (the platform's own callers; a surface asks
    through `asked_or_default`): everything its owner may have (`allowed`), or of that what
    the token it is made through (`via`: that token's scopes) has. Asked: known,
    allowed, at least one, and none `via` lacks (a token never mints a stronger one)."""
    if requested is None:
        granted = [str(s) for s in allowed if via is None or s in via]
        if not granted:
            raise ScopeRefused(
                "This token has none of the scopes the new token could have.", forbidden=True
            )
        return granted
    granted = _chosen(requested, allowed)
    if via is not None:
        wider = [scope for scope in granted if scope not in via]
        if wider:
            raise ScopeRefused(
                f"This token lacks the {wider[0]!r} scope, so it cannot give it to a new token.",
                forbidden=True,
            )
    return granted


def for_workload_binding(requested: Iterable[str] | None) -> list[str]:
    """The scopes of the tokens a workload-identity binding (CI) issues: read and/or write,
    both unless asked."""
    if requested is None:
        return [str(s) for s in SERVICE_ACCOUNT_SCOPES]
    wanted = {str(s) for s in requested}
    if not wanted or wanted - set(SERVICE_ACCOUNT_SCOPES):
        raise ScopeRefused(f"Tokens issued to CI may have {', '.join(SERVICE_ACCOUNT_SCOPES)}")
    return [str(s) for s in SERVICE_ACCOUNT_SCOPES if s in wanted]
