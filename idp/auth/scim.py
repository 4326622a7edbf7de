"""SCIM 2.0 (RFC 7643/7644) provisioning through django-scim2.

Identity providers (Okta, Entra ID) create, update and deactivate users and manage group
members under /scim/v2/, authenticated by an API token with the `scim` scope that a
platform admin created (`manage.py create_scim_token`). A SCIM group is a Django auth group
named `scim:<displayName>`; its members are mapped to teams by the same rule as SSO sign-in
(`idp.auth.groups`). Deactivating a user revokes every API token and session they have.

SCIM manages only its own users (`scim_filters.scim_managed_users`): those it created and
those a platform admin handed to it (`hand_user_to_scim`, audited), never superusers, staff,
platform admins or service accounts. Every other account answers as if it did not exist,
and a userName or e-mail another account holds is a 409 `uniqueness`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_scim import exceptions as scim_exceptions
from django_scim.adapters import SCIMGroup, SCIMUser
from django_scim.middleware import SCIMAuthCheckMiddleware

from idp import audit, services
from idp.actors import Person, signed_in
from idp.choices import AuditAction, MembershipSource
from idp.conf import setting
from idp.models import APIToken, SCIMIdentity
from idp.rbac import forget_permissions, is_platform_admin
from idp.scopes import SCIM, SCIM_SERVICE_USER, SCIM_TOKEN_SCOPES, token_allows

from . import groups as group_mapping
from .scim_filters import SCIM_GROUP_PREFIX, never_scim_reason, scim_managed_users


class NotPlatformAdmin(Exception):
    pass


# --- Actions --------------------------------------------------------------------------


def _require_platform_admin(actor: Person) -> User:
    """The signed-in platform admin acting; anyone else is refused."""
    admin = signed_in(actor)
    if admin is None or not is_platform_admin(admin):
        raise NotPlatformAdmin(f"{actor.get_username()} is not a platform admin")
    return admin


@transaction.atomic
def create_scim_token(*, name: str, actor: Person) -> tuple[APIToken, str]:
    """A bearer token with only the `scim` scope, owned by the SCIM service user; only a
    platform admin may create one. Returns the record and the raw token (shown once)."""
    _require_platform_admin(actor)
    user, _ = services.ensure_user(SCIM_SERVICE_USER)
    return services.create_api_token(
        user,
        name=name,
        scopes=list(SCIM_TOKEN_SCOPES),
        lifetime=timedelta(days=setting("IDP_TOKEN_MAX_DAYS")),
        actor=actor,
    )


def is_scim_managed(user: User) -> bool:
    """Whether SCIM may see and change `user` (one rule: `scim_managed_users`)."""
    return user.pk is not None and scim_managed_users().filter(pk=user.pk).exists()


@transaction.atomic
def hand_user_to_scim(user: User, *, actor: Person, external_id: str = "") -> SCIMIdentity:
    """Let SCIM manage an existing user from now on (the IdP may then rename, re-address
    and deactivate them). Platform admins only; never a superuser, staff, platform admin or
    service account. Audited."""
    admin = _require_platform_admin(actor)
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    name = user.get_username()
    reason = never_scim_reason(user)
    if reason is not None:
        raise services.ServiceError(f"{name} is {reason}: never managed by SCIM", field="user")
    if SCIMIdentity.objects.filter(user=user).exists():
        raise services.ServiceError(f"{name} is already managed by SCIM", field="user")
    identity = SCIMIdentity.objects.create(
        user=user, external_id=external_id, claimed_by=admin, claimed_at=timezone.now()
    )
    audit.record(
        AuditAction.USER_HANDED_TO_SCIM,
        actor=actor,
        target=user,
        details={"user": name, "external_id": external_id},
    )
    return identity


def _taken(user: User, *, username_changed: bool, email_changed: bool) -> str | None:
    """What of `user`'s new userName or e-mail another account holds (case-insensitive:
    sign-in and e-mail linking ignore case), or None."""
    others = get_user_model().objects.exclude(pk=user.pk) if user.pk else get_user_model().objects
    if username_changed and others.filter(username__iexact=user.username).exists():
        return f"userName {user.username!r} is already taken"
    if email_changed and user.email:
        from allauth.account.models import EmailAddress

        addresses = EmailAddress.objects.filter(email__iexact=user.email)
        if others.filter(email__iexact=user.email).exists() or (
            addresses.exclude(user_id=user.pk).exists()
        ):
            return f"e-mail {user.email!r} is already taken"
    return None


def _uniqueness(detail: str) -> scim_exceptions.IntegrityError:
    return scim_exceptions.IntegrityError(detail, scim_type="uniqueness")


def scim_token_user(request: HttpRequest) -> User | None:
    """The SCIM service user behind the request's bearer token, if it has the scim scope."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    kind, _, raw = header.partition(" ")
    if kind.lower() != "bearer" or not raw.strip():
        return None
    token = services.authenticate_api_token(raw.strip())
    # Only the SCIM service user's token counts, whatever a person's token row says.
    if token is None or not token_allows(token, SCIM):
        return None
    return token.user


def _end_sessions(user: User) -> int:
    """Delete every stored session of `user` (signed-in browsers are out at their next click)."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def deactivate_user(
    user: User, *, actor: Person | None = None, via: str = "scim"
) -> dict[str, int]:
    """Deactivate `user` at once: no sign-in, every API token revoked, every session ended.
    One audit event says how many tokens and sessions went."""
    now = timezone.now()
    tokens = APIToken.objects.filter(user=user, revoked_at__isnull=True)
    prefixes = list(tokens.values_list("key_prefix", flat=True))
    revoked = tokens.update(revoked_at=now)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    sessions = _end_sessions(user)
    forget_permissions(user)
    result = {"tokens_revoked": revoked, "sessions_ended": sessions}
    audit.record(
        AuditAction.USER_DEACTIVATED,
        actor=actor,
        target=user,
        details={"user": user.get_username(), "via": via, "token_prefixes": prefixes, **result},
    )
    return result


@transaction.atomic
def reactivate_user(user: User, *, actor: Person | None = None, via: str = "scim") -> None:
    """Let a deactivated user sign in again (their revoked tokens stay revoked)."""
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit.record(
            AuditAction.USER_REACTIVATED,
            actor=actor,
            target=user,
            details={"user": user.get_username(), "via": via},
        )


def scim_groups_of(user: User) -> list[str]:
    """The SCIM groups of `user`; none for a user SCIM does not manage (whatever group a
    row says they are in, SCIM grants them nothing)."""
    if not is_scim_managed(user):
        return []
    return [
        name.removeprefix(SCIM_GROUP_PREFIX)
        for name in user.groups.filter(name__startswith=SCIM_GROUP_PREFIX).values_list(
            "name", flat=True
        )
    ]


def sync_scim_memberships(user: User) -> None:
    """Apply the group mappings to `user`'s SCIM groups (SCIM-sourced memberships)."""
    group_mapping.apply_idp_groups(user, scim_groups_of(user), source=MembershipSource.SCIM)


# --- django-scim2 glue ----------------------------------------------------------------


class SCIMTokenAuthCheck(SCIMAuthCheckMiddleware):
    """Only a bearer token with the `scim` scope opens /scim/v2/ (never a browser session)."""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        user = scim_token_user(request)
        if user is None:
            response = HttpResponse(status=401)
            response["WWW-Authenticate"] = 'Bearer realm="scim"'
            return response
        request.user = user
        return None


def base_location(request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> str:
    """Absolute URLs in SCIM answers start with the address the IdP called."""
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return str(setting("IDP_SITE_URL")).rstrip("/")


def _bool(value: Any) -> bool:
    # Entra ID sends booleans as the strings "True"/"False" in PATCH operations.
    if isinstance(value, str):
        if value.strip().lower() not in ("true", "false"):
            raise scim_exceptions.BadRequestError(f'"active" must be a boolean, not {value!r}')
        return value.strip().lower() == "true"
    return bool(value)


class IdpSCIMUser(SCIMUser):
    """A platform user as SCIM sees it; saving goes through the audited actions."""

    id_field = "pk"

    def __init__(self, obj: Any, request: Any = None) -> None:
        super().__init__(obj, request)
        identity = getattr(obj, "scim_identity", None) if obj.pk else None
        # django-scim2 reads and writes the IdP's id here; it is kept on the SCIMIdentity.
        obj.__dict__.setdefault("scim_external_id", identity.external_id if identity else "")
        self._was_active = obj.is_active if obj.pk else None
        self._stored = (obj.username, obj.email) if obj.pk else (None, None)

    @property
    def groups(self) -> list[dict[str, Any]]:
        rows = self.obj.groups.filter(name__startswith=SCIM_GROUP_PREFIX) if self.obj.pk else []
        return [
            {"value": str(g.pk), "display": g.name.removeprefix(SCIM_GROUP_PREFIX)} for g in rows
        ]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = super().to_dict()
        if not d.get("externalId"):
            d.pop("externalId", None)
        return d

    def from_dict(self, d: dict[str, Any]) -> None:
        # Passwords are never taken: provisioned people sign in through SSO.
        d = {k: v for k, v in d.items() if k != "password"}
        if "active" in d:
            d["active"] = _bool(d["active"])
        super().from_dict(d)
        if not self.obj.username:
            raise scim_exceptions.BadRequestError("userName is required")

    def validate_dict(self, d: dict[str, Any]) -> None:
        if "active" in d:
            d = {**d, "active": _bool(d["active"])}
        super().validate_dict(d)

    def validate_op_replace(self, path: Any, value: Any, operation: dict[str, Any]) -> None:
        """Entra ID writes `"active": "False"`; accept it, refuse other non-booleans."""

    def handle_replace(self, path: Any, value: Any, operation: dict[str, Any]) -> None:
        if not isinstance(value, dict):
            value = {path: value}
        for attr, item in value.items():
            attr = attr if not isinstance(attr, str) else self.split_path(attr)
            first = attr.first_path
            if first == ("active", None, None):
                self.obj.is_active = _bool(item)
            elif first in (("userName", None, None),):
                self.obj.username = str(item)
            elif first in (("name", "givenName", None), ("givenName", None, None)):
                self.obj.first_name = str(item or "")
            elif first in (("name", "familyName", None), ("familyName", None, None)):
                self.obj.last_name = str(item or "")
            elif first[0] == "emails":
                self.parse_emails(item if isinstance(item, list | dict) else [{"value": item}])
            elif first == ("externalId", None, None):
                self.obj.scim_external_id = str(item or "")
            elif first[0] in ("displayName", "name", "title", "preferredLanguage"):
                continue  # attributes the platform does not keep
            else:
                raise scim_exceptions.NotImplementedError(f"Cannot replace {first[0]!r}")
        self.save()

    def handle_add(self, path: Any, value: Any, operation: dict[str, Any]) -> None:
        self.handle_replace(path, value, operation)  # single-valued attributes: add = replace

    @transaction.atomic
    def save(self) -> None:
        user = self.obj
        actor = self.request.user if self._request is not None else None
        created = user.pk is None
        if created:
            user.set_unusable_password()
            user.is_active = True if user.is_active is None else user.is_active
        try:
            get_user_model()._meta.get_field("username").run_validators(user.username)
        except ValidationError as exc:
            raise scim_exceptions.BadRequestError(" ".join(exc.messages)) from exc
        taken = _taken(
            user,
            username_changed=user.username != self._stored[0],
            email_changed=(user.email or "").lower() != (self._stored[1] or "").lower(),
        )
        if taken is not None:
            raise _uniqueness(taken)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as exc:  # a concurrent request took the name first
            raise _uniqueness(f"userName {user.username!r} is already taken") from exc
        self._stored = (user.username, user.email)
        external_id = str(getattr(user, "scim_external_id", "") or "")
        if created:
            SCIMIdentity.objects.create(user=user, external_id=external_id)
        elif external_id:
            SCIMIdentity.objects.filter(user=user).exclude(external_id=external_id).update(
                external_id=external_id
            )
        if created:
            audit.record(
                AuditAction.USER_PROVISIONED,
                actor=actor,
                target=user,
                details={"user": user.get_username(), "email": user.email, "via": "scim"},
            )
        else:
            audit.record(
                AuditAction.USER_UPDATED,
                actor=actor,
                target=user,
                details={"user": user.get_username(), "email": user.email, "via": "scim"},
            )
        if self._was_active and not user.is_active:
            deactivate_user(user, actor=actor)
        elif self._was_active is False and user.is_active:
            reactivate_user(user, actor=actor)
        self._was_active = user.is_active

    def delete(self) -> None:
        """Entra ID and Okta DELETE a user they no longer manage: deactivate, keep the
        record (audit events and resources name it)."""
        deactivate_user(self.obj, actor=self.request.user)


class IdpSCIMGroup(SCIMGroup):
    """An IdP group pushed over SCIM; membership changes re-apply the group mappings."""

    id_field = "pk"

    def __init__(self, obj: Any, request: Any = None) -> None:
        super().__init__(obj, request)
        obj.__dict__.setdefault("scim_external_id", None)

    @property
    def display_name(self) -> str:
        return str(self.obj.name).removeprefix(SCIM_GROUP_PREFIX)

    @property
    def members(self) -> list[dict[str, Any]]:
        """The group's members SCIM manages (another account in the row is not shown)."""
        if not self.obj.pk:
            return []
        users = scim_managed_users().filter(groups=self.obj).order_by("pk")
        return [
            {"value": str(user.pk), "display": IdpSCIMUser(user, self.request).display_name}
            for user in users
        ]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = super().to_dict()
        d.pop("externalId", None)
        return d

    def from_dict(self, d: dict[str, Any]) -> None:
        name = str(d.get("displayName") or "").strip()
        if not name:
            raise scim_exceptions.BadRequestError("displayName is required")
        self.obj.name = SCIM_GROUP_PREFIX + name
        self._members = d.get("members")

    @transaction.atomic
    def save(self) -> None:
        self.obj.save()
        members = getattr(self, "_members", None)
        if members is not None:  # POST/PUT carry the whole member list
            users = _managed_users(_user_ids(members))
            before = set(self.obj.user_set.values_list("pk", flat=True))
            self.obj.user_set.set(users)
            self._members = None
            _resync(before | {u.pk for u in users})

    def delete(self) -> None:
        with transaction.atomic():
            before = set(self.obj.user_set.values_list("pk", flat=True))
            self.obj.delete()
            _resync(before)

    def _member_ids(self, path: Any, value: Any) -> list[int]:
        ids = _user_ids(value or [])
        # Okta/Entra remove one member with path `members[value eq "42"]`.
        match = re.search(r'value eq "([^"]+)"', getattr(path, "filter", "") or "")
        if match:
            ids.append(_user_id(match.group(1)))
        return ids

    def _is_members(self, path: Any) -> bool:
        return path is not None and path.first_path[0] == "members"

    def handle_add(self, path: Any, value: Any, operation: dict[str, Any]) -> None:
        if not self._is_members(path):
            raise scim_exceptions.NotImplementedError("Only members can be added to a group")
        users = _managed_users(self._member_ids(path, value))
        self.obj.user_set.add(*users)
        _resync({u.pk for u in users})

    def handle_remove(self, path: Any, value: Any, operation: dict[str, Any]) -> None:
        if not self._is_members(path):
            raise scim_exceptions.NotImplementedError("Only members can be removed")
        ids = self._member_ids(path, value)
        if not ids:  # `remove members` without a filter: all of them
            ids = list(self.obj.user_set.values_list("pk", flat=True))
        users = list(scim_managed_users().filter(pk__in=ids))
        self.obj.user_set.remove(*users)
        _resync({u.pk for u in users})

    def handle_replace(self, path: Any, value: Any, operation: dict[str, Any]) -> None:
        if isinstance(value, dict) and path is None:
            if "displayName" in value:
                self.obj.name = SCIM_GROUP_PREFIX + str(value["displayName"])
                self.obj.save()
                _resync(set(self.obj.user_set.values_list("pk", flat=True)))
            if "members" in value:
                self._members = value["members"]
                self.save()
            return
        if path is not None and path.first_path[0] == "displayName":
            self.obj.name = SCIM_GROUP_PREFIX + str(value)
            self.obj.save()
            _resync(set(self.obj.user_set.values_list("pk", flat=True)))
        elif self._is_members(path):
            self._members = value or []
            self.save()
        else:
            raise scim_exceptions.NotImplementedError("Only displayName and members")

    def parse_path_and_values(self, path: str | None, value: Any) -> list[Any]:
        if path is None and isinstance(value, dict):
            return [(None, value)]  # handled whole by handle_replace
        return list(super().parse_path_and_values(path, value))


def _user_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise scim_exceptions.BadRequestError(f"{value!r} is not a user id") from None


def _user_ids(members: Any) -> list[int]:
    if isinstance(members, dict):
        members = [members]
    return [_user_id(m.get("value")) for m in members if isinstance(m, dict)]


def _managed_users(ids: list[int]) -> list[Any]:
    """The users SCIM manages with these ids; any other id, of an account SCIM does not
    manage or of none, is refused alike (SCIM cannot tell them apart)."""
    users = list(scim_managed_users().filter(pk__in=ids))
    if len(users) != len(set(ids)):
        raise scim_exceptions.BadRequestError("Can not add a non-existent user to group")
    return users


def _resync(user_ids: set[int]) -> None:
    for user in get_user_model().objects.filter(pk__in=user_ids):
        sync_scim_memberships(user)


def group_queryset_post_processor(model: Any) -> Any:
    def process(request: Any, qs: Any, *args: Any, **kwargs: Any) -> Any:
        if model is Group:
            return qs.filter(name__startswith=SCIM_GROUP_PREFIX)
        return qs.filter(pk__in=scim_managed_users().values("pk")).select_related("scim_identity")

    return process


def group_object_post_processor(model: Any) -> Any:
    def process(request: Any, obj: Any, *args: Any, **kwargs: Any) -> Any:
        if model is Group and not str(obj.name).startswith(SCIM_GROUP_PREFIX):
            raise scim_exceptions.NotFoundError(obj.pk)  # the platform's own role groups
        if model is not Group and not is_scim_managed(obj):
            raise scim_exceptions.NotFoundError(obj.pk)  # local, privileged, service accounts
        return obj

    return process
