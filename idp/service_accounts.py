"""Service accounts: team-owned non-human identities (CI, scripts) with scoped tokens, and
the workload-identity bindings that let a CI job trade its OIDC token for a platform token.

A service account is a User row that cannot sign in (unusable password), placed in its
team's role group (viewer, member or maintainer; never admin), acting only through API
tokens limited to its team and to read/write. It never approves: the approval policy
refuses it (`provisioning/approval_policy.py`). Every action it takes is audited as itself,
with the person who created it named beside (`idp.audit.record`).

People manage service accounts: a service account (even a maintainer one) creates,
changes, disables and binds none, and makes tokens only for itself, never outliving the
token it acts through (`idp.services.create_api_token`), so a leaked CI token cannot make
itself last.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import audit, token_cache
from . import scopes as token_scopes
from .actors import Person, signed_in
from .choices import ROLE_ORDER, AuditAction, Role
from .models import (
    SERVICE_ACCOUNT_ROLES,
    APIToken,
    ServiceAccount,
    Team,
    WorkloadIdentityBinding,
    slug_validator,
)
from .rbac import forget_permissions, has_team_perm, permissions_changed
from .services import Conflict, Forbidden, ServiceError, create_api_token, revoke_api_token

NAME_MAX = 40
REPOSITORY_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def require_maintainer(actor: Person | None, team: Team, what: str) -> None:
    """Service accounts are managed by the team's maintainers and admins (and platform
    admins); `actor=None` is ops at the command line."""
    if actor is not None and not has_team_perm(actor, team, "maintain_team"):
        raise Forbidden(f"Only maintainers of {team.slug} {what}.")


def require_person_maintainer(actor: Person | None, team: Team, what: str) -> None:
    """`require_maintainer`, and never a service account: people manage service accounts,
    so a stolen CI token cannot make itself others, bindings or rights that outlive it."""
    require_maintainer(actor, team, what)
    if ServiceAccount.of(actor) is not None:
        raise Forbidden(f"A service account cannot {what}; people manage service accounts.")


def _require_self_or_person(actor: Person | None, account: ServiceAccount, what: str) -> None:
    """A maintainer person, or the service account itself acting on its own tokens."""
    require_maintainer(actor, account.team, what)
    acting = ServiceAccount.of(actor)
    if acting is not None and acting.pk != account.pk:
        raise Forbidden(f"A service account cannot {what} of another service account.")


def _check_role(role: str) -> str:
    if role not in SERVICE_ACCOUNT_ROLES:
        allowed = ", ".join(r.value for r in SERVICE_ACCOUNT_ROLES)
        raise ServiceError(
            f"A service account's role is one of {allowed} (never admin)", field="role"
        )
    return role


def _place_in_role_group(account: ServiceAccount, role: str) -> None:
    team, user = account.team, account.user
    user.groups.remove(*Group.objects.filter(name__in=[team.group_name(r) for r in ROLE_ORDER]))
    user.groups.add(Group.objects.get_or_create(name=team.group_name(role))[0])
    forget_permissions(user)
    permissions_changed()


@transaction.atomic
def create_service_account(
    team: Team,
    name: str,
    *,
    description: str = "",
    role: str = Role.MEMBER,
    actor: Person | None = None,
    created_by: User | None = None,
) -> ServiceAccount:
    """Create the service account `sa:<team>:<name>` for `team` (maintainers only). The
    person answerable for it is the actor, or `created_by` when ops create it."""
    require_person_maintainer(actor, team, "create service accounts")
    name = (name or "").strip()
    try:
        slug_validator(name)
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages), field="name") from exc
    if len(name) > NAME_MAX:
        raise ServiceError(f"Use at most {NAME_MAX} characters", field="name")
    _check_role(role)
    username = ServiceAccount.username_for(team, name)
    User = get_user_model()
    if ServiceAccount.objects.filter(team=team, name=name).exists() or (
        User.objects.filter(username=username).exists()
    ):
        raise Conflict(f"{team.slug} already has a service account {name!r}", field="name")
    user = User(username=username, is_active=True)
    user.set_unusable_password()
    user.save()
    account = ServiceAccount.objects.create(
        user=user,
        team=team,
        name=name,
        description=(description or "").strip(),
        role=role,
        created_by=signed_in(actor) or created_by,
    )
    _place_in_role_group(account, role)
    audit.record(
        AuditAction.SERVICE_ACCOUNT_CREATED,
        actor=actor,
        target=account,
        details={
            "username": username,
            "role": role,
            "created_by": account.created_by.get_username() if account.created_by else None,
        },
    )
    return account


@transaction.atomic
def update_service_account(
    account: ServiceAccount,
    *,
    description: str | None = None,
    role: str | None = None,
    actor: Person | None = None,
) -> ServiceAccount:
    """Change a service account's description or role (maintainers only)."""
    require_person_maintainer(actor, account.team, "change service accounts")
    changed: dict[str, str] = {}
    if description is not None and description.strip() != account.description:
        changed["description"] = description.strip()
    if role is not None and role != account.role:
        changed["role"] = _check_role(role)
    if changed:
        for key, value in changed.items():
            setattr(account, key, value)
        account.save(update_fields=list(changed))
        if "role" in changed:
            _place_in_role_group(account, account.role)
        audit.record(
            AuditAction.SERVICE_ACCOUNT_UPDATED,
            actor=actor,
            target=account,
            details={"changed": changed},
        )
    return account


@transaction.atomic
def set_service_account_enabled(
    account: ServiceAccount, enabled: bool, *, actor: Person | None = None
) -> ServiceAccount:
    """Disable a service account (its tokens stop working at once, its CI can no longer
    trade OIDC tokens) or enable it again."""
    require_person_maintainer(actor, account.team, "disable or enable service accounts")
    if (account.disabled_at is None) == enabled:
        return account
    account.disabled_at = None if enabled else timezone.now()
    account.save(update_fields=["disabled_at"])
    account.user.is_active = enabled
    account.user.save(update_fields=["is_active"])
    audit.record(
        AuditAction.SERVICE_ACCOUNT_ENABLED if enabled else AuditAction.SERVICE_ACCOUNT_DISABLED,
        actor=actor,
        target=account,
    )
    return account


def create_service_account_token(
    account: ServiceAccount,
    *,
    name: str = "default",
    scopes: Iterable[str] | None = None,
    lifetime: timedelta | None = None,
    actor: Person | None = None,
) -> tuple[APIToken, str]:
    """A token of the service account (maintainers only; a service account only its own):
    limited to its team, read/write. Made through a token, it gets no more than that token
    has: its scopes and at most its expiry (`create_api_token`)."""
    _require_self_or_person(actor, account, "create tokens")
    return create_api_token(account.user, name=name, scopes=scopes, lifetime=lifetime, actor=actor)


def revoke_service_account_token(
    account: ServiceAccount, token: APIToken, *, actor: Person | None = None
) -> APIToken:
    """Revoke one of the service account's tokens (maintainers only)."""
    _require_self_or_person(actor, account, "revoke tokens")
    if token.user_id != account.user_id:
        raise ServiceError("That token is not this service account's", field="token")
    return revoke_api_token(token, actor=actor)


def _clean_pattern(value: str, field: str) -> str:
    value = (value or "").strip()
    if len(value) > 200:
        raise ServiceError("Use at most 200 characters", field=field)
    return value


def _github_id(value: int | str | None, field: str) -> int | None:
    """A GitHub numeric id as given (None: pinned by the first exchange)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 0 < int(text) < 2**63:
        raise ServiceError("A GitHub id is a positive whole number", field=field)
    return int(text)


def _pins(
    account: ServiceAccount, repository: str, repository_id: int | None, owner_id: int | None
) -> dict[str, int | None]:
    """The ids a new binding of `repository` gets: the given ones, else those its team's
    bindings of the name are already pinned to. A name (or id) another team has bound is
    refused: the exchange would otherwise hand one team's CI tokens to the other."""
    named = WorkloadIdentityBinding.objects.filter(repository__iexact=repository)
    elsewhere = named.exclude(service_account__team=account.team)
    if repository_id is not None:
        elsewhere |= WorkloadIdentityBinding.objects.filter(repository_id=repository_id).exclude(
            service_account__team=account.team
        )
    if elsewhere.exists():
        raise ServiceError(
            f"{repository} is already bound by another team; a repository's CI belongs to "
            "one team (a platform admin can remove the other binding)",
            field="repository",
        )
    pinned = named.filter(service_account__team=account.team, repository_id__isnull=False)
    first = pinned.order_by("pk").first()
    if first is not None:
        if repository_id not in (None, first.repository_id):
            raise ServiceError(
                f"{repository} is bound in this team to repository id {first.repository_id}",
                field="repository_id",
            )
        if owner_id not in (None, first.repository_owner_id):
            raise ServiceError(
                f"{repository} is bound in this team to owner id {first.repository_owner_id}",
                field="repository_owner_id",
            )
        return {
            "repository_id": first.repository_id,
            "repository_owner_id": first.repository_owner_id
            if first.repository_owner_id is not None
            else owner_id,
        }
    return {"repository_id": repository_id, "repository_owner_id": owner_id}


@transaction.atomic
def bind_github_repository(
    account: ServiceAccount,
    repository: str,
    *,
    ref_pattern: str = "",
    environment_pattern: str = "",
    service_slug: str = "",
    scopes: Iterable[str] | None = None,
    repository_id: int | str | None = None,
    repository_owner_id: int | str | None = None,
    actor: Person | None = None,
) -> WorkloadIdentityBinding:
    """Trust GitHub Actions OIDC tokens of `repository` ("owner/name"; optionally only refs
    and environments matching the glob patterns) as `account` (maintainers, never a service
    account). The binding is pinned to GitHub's repository and owner ids, given here or
    taken from the first successful exchange (trust on first use); a repository another
    team has bound is refused."""
    require_person_maintainer(actor, account.team, "bind repositories to service accounts")
    repository = (repository or "").strip()
    if not REPOSITORY_PATTERN.match(repository):
        raise ServiceError('Name the repository as "owner/name"', field="repository")
    try:
        granted = token_scopes.for_workload_binding(scopes)
    except token_scopes.ScopeRefused as refused:
        raise ServiceError(refused.message, field=refused.field) from None
    service_slug = (service_slug or "").strip()
    if service_slug:
        try:
            slug_validator(service_slug)
        except ValidationError as exc:
            raise ServiceError(" ".join(exc.messages), field="service") from exc
    fields = {
        "ref_pattern": _clean_pattern(ref_pattern, "ref_pattern"),
        "environment_pattern": _clean_pattern(environment_pattern, "environment_pattern"),
    }
    pins = _pins(
        account,
        repository,
        _github_id(repository_id, "repository_id"),
        _github_id(repository_owner_id, "repository_owner_id"),
    )
    if WorkloadIdentityBinding.objects.filter(
        service_account=account, repository__iexact=repository, **fields
    ).exists():
        raise Conflict(f"{account} already trusts {repository} this way", field="repository")
    binding = WorkloadIdentityBinding.objects.create(
        service_account=account,
        repository=repository,
        service_slug=service_slug,
        scopes=granted,
        created_by=signed_in(actor),
        **pins,
        **fields,
    )
    audit.record(
        AuditAction.WORKLOAD_IDENTITY_BOUND,
        actor=actor,
        target=binding,
        details={
            "service_account": account.username,
            "repository": repository,
            **pins,
            **fields,
            "service": service_slug,
            "scopes": binding.scopes,
        },
    )
    return binding


@transaction.atomic
def unbind(binding: WorkloadIdentityBinding, *, actor: Person | None = None) -> None:
    """Stop trusting a repository; the tokens already issued through it are revoked."""
    account = binding.service_account
    require_person_maintainer(actor, account.team, "remove repository bindings")
    now = timezone.now()
    issued = binding.issued_tokens.filter(revoked_at__isnull=True)
    token_cache.forget_tokens(issued)  # a bulk update: no signal drops them
    issued.update(revoked_at=now)
    audit.record(
        AuditAction.WORKLOAD_IDENTITY_UNBOUND,
        actor=actor,
        target=binding,
        team=account.team,
        details={"service_account": account.username, "repository": binding.repository},
    )
    # Issued tokens keep their rows (revoked, binding unset) for the audit trail.
    binding.delete()
