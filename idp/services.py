"""Domain operations on teams, memberships and API tokens.

The portal, the API, admin actions and management commands all call these;
each is atomic and writes its audit event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from . import audit, token_cache
from . import scopes as token_scopes
from .actors import Person
from .choices import (
    PLATFORM_ADMIN_GROUP,
    ROLE_ORDER,
    TEAM_PERMS_BY_ROLE,
    AuditAction,
    Role,
    StateLocking,
)
from .conf import setting
from .models import (
    APIToken,
    Environment,
    Membership,
    NotificationPreference,
    ServiceAccount,
    Team,
    WorkloadIdentityBinding,
    hash_token,
)
from .rbac import forget_permissions, has_team_perm, is_platform_admin


class ServiceError(Exception):
    """A domain rule refused the operation; `code` maps to an HTTP status."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: dict[str, list[str]] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors

    @property
    def detail(self) -> str | dict[str, list[str]]:
        """What the API answers: field -> messages when known, else the message."""
        if self.errors:
            return self.errors
        if self.field:
            return {self.field: [self.message]}
        return self.message


class Conflict(ServiceError):
    status = 409


class Forbidden(ServiceError):
    status = 403


def _grant_role_groups(team: Team) -> None:
    # The groups in one insert, then one insert per permission for all the groups that hold
    # it (guardian's bulk form), not a lookup and insert per group and permission: 82 queries
    # per new team became 16. A group left by an earlier team of that slug is reused.
    names = {role: team.group_name(role) for role in ROLE_ORDER}
    Group.objects.bulk_create([Group(name=name) for name in names.values()], ignore_conflicts=True)
    by_name = {group.name: group for group in Group.objects.filter(name__in=names.values())}
    groups = {role: by_name[name] for role, name in names.items()}
    for perm in dict.fromkeys(p for role in ROLE_ORDER for p in TEAM_PERMS_BY_ROLE[role]):
        holders = [groups[role] for role in ROLE_ORDER if perm in TEAM_PERMS_BY_ROLE[role]]
        assign_perm(f"idp.{perm}", holders, team)


@transaction.atomic
def create_team(
    slug: str, *, name: str = "", description: str = "", actor: Person | None = None
) -> Team:
    """Create a team with one group per role holding that role's object permissions."""
    if Team.objects.filter(slug=slug).exists():
        raise Conflict(f"Team {slug!r} already exists", field="slug")
    team = Team(slug=slug, name=name or slug.replace("-", " ").title(), description=description)
    team.full_clean()
    team.save()
    _grant_role_groups(team)
    audit.record(AuditAction.TEAM_CREATED, actor=actor, target=team, details={"name": team.name})
    return team


UPDATABLE_TEAM_FIELDS = ("name", "description")


@transaction.atomic
def update_team(team: Team, *, actor: Person | None = None, **fields: Any) -> Team:
    """Change a team's name or description; the slug names its groups and never changes."""
    unknown = sorted(set(fields) - set(UPDATABLE_TEAM_FIELDS))
    if unknown:
        raise ServiceError(f"{', '.join(unknown)} cannot be changed", field=unknown[0])
    changed = {k: v for k, v in fields.items() if getattr(team, k) != v}
    for key, value in changed.items():
        setattr(team, key, value)
    if changed:
        team.full_clean()
        team.save(update_fields=list(changed))
        audit.record(
            AuditAction.TEAM_UPDATED, actor=actor, target=team, details={"changed": changed}
        )
    return team


@transaction.atomic
def set_membership(
    team: Team,
    user: User,
    role: str,
    *,
    actor: Person | None = None,
    source: str | None = None,
    sso_group: str = "",
) -> Membership:
    """Add `user` to `team` with `role`, or change their role; keeps the role groups in step.

    `source` (SSO/SCIM) marks who manages the membership from now on and `sso_group` the IdP
    group that granted it (recorded in the audit event); without it a new membership is
    manual and an existing one keeps its source.
    """
    if role not in Role.values:
        raise ServiceError(
            f"Unknown role {role!r}; choose one of {', '.join(Role.values)}", field="role"
        )
    if ServiceAccount.of(user) is not None:
        # Its team and role are the service account's own (never admin of anything).
        raise ServiceError(
            f"{user.get_username()} is a service account; change its role on the account",
            field="username",
        )
    defaults: dict[str, Any] = {"role": role}
    if source:
        defaults.update(source=source, sso_group=sso_group)
    membership, created = Membership.objects.select_for_update().get_or_create(
        team=team, user=user, defaults=defaults
    )
    previous = None if created else membership.role
    if previous == Role.ADMIN and role != Role.ADMIN:
        _refuse_orphaning(team, user, actor)
    if not created and (previous != role or (source and membership.sso_group != sso_group)):
        membership.role = role
        if source:
            membership.source, membership.sso_group = source, sso_group
        membership.save(update_fields=["role", "source", "sso_group"])
    user.groups.remove(*Group.objects.filter(name__in=[team.group_name(r) for r in ROLE_ORDER]))
    user.groups.add(Group.objects.get_or_create(name=team.group_name(role))[0])
    forget_permissions(user)
    if created or previous != role:
        audit.record(
            AuditAction.MEMBERSHIP_ADDED if created else AuditAction.MEMBERSHIP_ROLE_CHANGED,
            actor=actor,
            target=membership,
            team=team,
            details={
                "user": user.get_username(),
                "role": role,
                "previous_role": previous,
                **({"source": source, "sso_group": sso_group} if source else {}),
            },
        )
    return membership


def _refuse_orphaning(team: Team, user: User, actor: Person | None) -> None:
    """A team admin may not drop their own admin role when nobody else holds it."""
    is_self = actor is not None and getattr(actor, "pk", None) == user.pk
    if is_self and team.memberships.filter(role=Role.ADMIN).count() == 1:
        raise Conflict("You are the team's last admin; make someone else admin first")


NO_SUCH_USER_HINT = (
    "platform admins create users (Django admin, or "
    "`manage.py add_member TEAM USER --email E`); people who sign in with SSO "
    "appear after their first sign-in"
)


@transaction.atomic
def add_member(team: Team, username: str, role: str, *, actor: Person | None = None) -> Membership:
    """Add the existing user `username` to `team` with `role`, or change their role.

    The user is never changed (nor created): adding a member is a team admin's power,
    creating and editing users is a platform admin's.
    """
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ServiceError(f"no such user {username!r}: {NO_SUCH_USER_HINT}", field="username")
    return set_membership(team, user, role, actor=actor)


@transaction.atomic
def provision_member(
    team: Team, username: str, role: str, *, email: str = "", actor: Person | None = None
) -> tuple[Membership, bool]:
    """Ops: add `username` to `team`, creating the user (no password) when missing.

    An existing user is never changed: an `email` other than theirs is refused, so this
    can not move somebody's password resets to another mailbox. Returns the membership
    and whether the user was created.
    """
    user, created = ensure_user(username, email=email)
    if not created and email and user.email.casefold() != email.casefold():
        raise Conflict(
            f"{username} already exists with another e-mail address; adding a member never "
            "changes a user (change the address in Django admin)",
            field="email",
        )
    return set_membership(team, user, role, actor=actor), created


@transaction.atomic
def remove_membership(
    team: Team, user: User, *, actor: Person | None = None, details: dict[str, Any] | None = None
) -> None:
    """Take `user` out of `team` and out of its role groups; `details` adds to the audit
    event (e.g. the SSO group whose loss removed the membership)."""
    membership = Membership.objects.select_for_update().filter(team=team, user=user).first()
    if membership is None:
        raise ServiceError(f"{user.get_username()} is not a member of {team.slug}", field="user")
    if membership.role == Role.ADMIN:
        _refuse_orphaning(team, user, actor)
    user.groups.remove(*Group.objects.filter(name__in=[team.group_name(r) for r in ROLE_ORDER]))
    forget_permissions(user)
    membership.delete()
    audit.record(
        AuditAction.MEMBERSHIP_REMOVED,
        actor=actor,
        target=team,
        details={"user": user.get_username(), "role": membership.role, **(details or {})},
    )


def ensure_user(username: str, *, email: str = "") -> tuple[User, bool]:
    """The user named `username`, created with `email` and an unusable password (SSO or
    reset) if missing; an existing user is returned unchanged."""
    User = get_user_model()
    try:
        User._meta.get_field("username").run_validators(username)
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages), field="username") from exc
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ServiceError(f"{email!r} is not an e-mail address", field="email") from exc
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user, created


@transaction.atomic
def set_platform_admin(user: User, enabled: bool = True, *, actor: Person | None = None) -> None:
    """Grant or take away the platform-admin role (sees and manages every team)."""
    group, _ = Group.objects.get_or_create(name=PLATFORM_ADMIN_GROUP)
    if user.groups.filter(pk=group.pk).exists() == enabled:
        return
    (user.groups.add if enabled else user.groups.remove)(group)
    forget_permissions(user)
    audit.record(
        AuditAction.USER_PLATFORM_ADMIN_GRANTED
        if enabled
        else AuditAction.USER_PLATFORM_ADMIN_REVOKED,
        actor=actor,
        target=user,
    )


@transaction.atomic
def set_notification_preferences(
    user: User,
    *,
    plans_to_decide: bool,
    my_requests: bool,
    drift_found: bool = True,
    actor: Person | None = None,
) -> NotificationPreference:
    """Which e-mails `user` gets: plans awaiting their decision, news of their own requests,
    drift of their teams' resources. Audited when something changed (a user without a row
    gets everything)."""
    preference, _ = NotificationPreference.objects.get_or_create(user=user)
    fields = ["plans_to_decide", "my_requests", "drift_found"]
    before = {f: getattr(preference, f) for f in fields}
    after = {
        "plans_to_decide": bool(plans_to_decide),
        "my_requests": bool(my_requests),
        "drift_found": bool(drift_found),
    }
    if before != after:
        for field, value in after.items():
            setattr(preference, field, value)
        preference.save(update_fields=[*fields, "updated_at"])
        audit.record(
            AuditAction.USER_NOTIFICATIONS_CHANGED, actor=actor, target=user, details=after
        )
    return preference


# "30d", "12h", "2w", or a bare number of days.
_LIFETIME = re.compile(r"^\s*(\d{1,5})\s*([hdw]?)\s*$")
_LIFETIME_UNITS = {"h": "hours", "d": "days", "w": "weeks", "": "days"}


def parse_token_lifetime(text: str | int) -> timedelta:
    """A token lifetime as people write it: `30d`, `12h`, `2w` or a number of days."""
    match = _LIFETIME.match(str(text))
    if match is None:
        raise ServiceError(
            f"{text!r} is not a lifetime; write e.g. 30d, 12h or 2w", field="expires_in"
        )
    return timedelta(**{_LIFETIME_UNITS[match.group(2)]: int(match.group(1))})


# Where the request's user object keeps the API token it acts through (set when the token
# is authenticated): every token it makes is bounded by that one, on every surface.
_ACTING_TOKEN = "_idp_acting_token"


def acting_token(actor: Person | None) -> APIToken | None:
    """The API token `actor` (a request's user) acts through, or None (session, password
    JWT, ops, workers)."""
    found = getattr(actor, "__dict__", {}).get(_ACTING_TOKEN) if actor is not None else None
    return found if isinstance(found, APIToken) else None


@transaction.atomic
def create_api_token(
    user: User,
    *,
    name: str = "default",
    scopes: Iterable[str] | None = None,
    lifetime: timedelta | None = None,
    team: Team | None = None,
    actor: Person | None = None,
    via: APIToken | None = None,
    workload_binding: WorkloadIdentityBinding | None = None,
) -> tuple[APIToken, str]:
    """Create an API token for `user` (a person or a service account); returns the record
    and the raw token (shown once).

    Unasked (`scopes` None: the platform's own callers), a token gets everything its owner
    may have (a service account's: read and write; it can never approve); the surfaces a
    person uses (portal, API, `manage.py create_api_token`) ask through
    `idp.scopes.asked_or_default`, so a person's token there only reads unless more is
    chosen. The lifetime defaults to IDP_TOKEN_DEFAULT_DAYS and may not pass
    IDP_TOKEN_MAX_DAYS. `team` limits the token to that team's objects (a service account's
    tokens always are). A token made through another token (`via`, by default the token the
    actor acts through, whoever the new token is for) gets no more than that token has: its
    scopes (wider ones are refused, unasked ones narrowed), its team and at most its expiry
    (a longer lifetime is capped).
    """
    name = (name or "default").strip()[:100]
    if via is None:
        via = acting_token(actor)
    account = ServiceAccount.of(user)
    if account is not None:
        if account.disabled_at is not None:
            raise Conflict(f"Service account {account} is disabled; enable it first")
        if team is not None and team.pk != account.team_id:
            raise ServiceError(
                f"A token of {account} can only be limited to {account.team.slug}", field="team"
            )
        team = account.team
    # Which scopes, by whom, and never more than `via` has: the scope rule decides.
    allowed = token_scopes.grantable(
        user,
        service_account=account is not None,
        by_platform_admin=lambda: is_platform_admin(actor),
    )
    try:
        granted = token_scopes.for_new_token(
            scopes, allowed=allowed, via=None if via is None else list(via.scopes or ())
        )
    except token_scopes.ScopeRefused as refused:
        if refused.forbidden:
            raise Forbidden(refused.message) from None
        raise ServiceError(refused.message, field=refused.field) from None
    if team is not None and account is None and not has_team_perm(user, team, "view_team"):
        raise ServiceError(f"{user.get_username()} is not in team {team.slug}", field="team")
    if lifetime is None:
        lifetime = timedelta(days=setting("IDP_TOKEN_DEFAULT_DAYS"))
    max_days = setting("IDP_TOKEN_MAX_DAYS")
    if lifetime <= timedelta(0) or lifetime > timedelta(days=max_days):
        raise ServiceError(f"A token may last at most {max_days} days", field="expires_in")
    expires_at = timezone.now() + lifetime
    if via is not None:
        if via.team_id is not None and (team is None or team.pk != via.team_id):
            if team is not None:
                raise Forbidden("This token is limited to one team; so are the tokens it makes.")
            team = via.team
        if via.expires_at is not None:
            expires_at = min(expires_at, via.expires_at)
    raw = APIToken.generate()
    token = APIToken.objects.create(
        user=user,
        name=name,
        key_prefix=raw[:10],
        key_hash=hash_token(raw),
        scopes=granted,
        team=team,
        expires_at=expires_at,
        workload_binding=workload_binding,
    )
    audit.record(
        AuditAction.API_TOKEN_CREATED,
        actor=actor or user,
        target=token,
        team=team,
        details={
            "user": user.get_username(),
            "name": name,
            "prefix": token.key_prefix,
            "scopes": granted,
            "team": team.slug if team else None,
            "expires_at": expires_at.isoformat(),
        },
    )
    return token, raw


@transaction.atomic
def revoke_api_token(token: APIToken, *, actor: Person | None = None) -> APIToken:
    """Revoke a token for good; it stays listed so its owner sees when it was revoked."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            AuditAction.API_TOKEN_REVOKED,
            actor=actor or token.user,
            target=token,
            team=token.team,
            details={"user": token.user.get_username(), "prefix": token.key_prefix},
        )
    return token


def authenticate_api_token(raw: str, *, ip: str | None = None) -> APIToken | None:
    """The active token whose hash matches `raw`, or None; notes when and from where it
    was last used."""
    key_hash = hash_token(raw)
    # The shared cache first (dropped whenever the token or its user changes); else the row.
    token = cached = token_cache.get(key_hash)
    if token is None:
        token = (
            APIToken.objects.select_related("user", "team", "user__service_account__created_by")
            # Kept in the shared cache: no password hash goes there (read when asked for).
            .defer("user__password", "user__service_account__created_by__password")
            .filter(key_hash=key_hash, revoked_at__isnull=True)
            .first()
        )
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    # Touch at most once a minute (or on a new address) so busy clients don't write on
    # every call.
    stale = token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60
    if stale or (ip and ip != token.last_used_ip):
        APIToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
        token.last_used_at, token.last_used_ip = now, ip
    if cached is None:
        # Cached as touched, for at most a minute: its hits need not touch it again.
        token_cache.add(token)
    # Tokens this user makes in this request are bounded by this one (create_api_token).
    token.user.__dict__[_ACTING_TOKEN] = token
    return token


@transaction.atomic
def environment_refusal(env: Environment) -> ServiceError | None:
    """Why an environment's settings cannot stand (the admin form asks this too)."""
    if env.state_locking == StateLocking.DYNAMODB and not env.dynamodb_lock_table.strip():
        return ServiceError(
            "Name the DynamoDB lock table (a table with the string hash key LockID)",
            field="dynamodb_lock_table",
        )
    return None


def upsert_environment(slug: str, *, actor: Person | None = None, **fields: Any) -> Environment:
    """Create the environment `slug`, or bring its fields up to date (idempotent)."""
    current = Environment.objects.filter(slug=slug).first()
    proposed = current or Environment(slug=slug, name=slug)
    for key, value in fields.items():
        setattr(proposed, key, value)
    if refusal := environment_refusal(proposed):
        raise refusal
    env, created = Environment.objects.get_or_create(slug=slug, defaults={"name": slug, **fields})
    changed = {}
    if not created:
        changed = {k: v for k, v in fields.items() if getattr(env, k) != v}
        for key, value in changed.items():
            setattr(env, key, value)
        if changed:
            env.save(update_fields=list(changed))
    if created or changed:
        audit.record(
            AuditAction.ENVIRONMENT_CREATED if created else AuditAction.ENVIRONMENT_UPDATED,
            actor=actor,
            target=env,
            details={k: str(v) for k, v in (fields if created else changed).items()},
        )
    return env
