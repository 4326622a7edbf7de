"""Identity-provider groups → team memberships.

One rule, used by every sign-in (OIDC, SAML, GitHub/Google when they send groups) and by
SCIM group changes: the mappings (admin rows `SSOGroupMapping` plus the
`IDP_SSO_GROUP_MAPPINGS` setting) turn the user's IdP groups into (team, role) pairs, and
`apply_idp_groups` brings the user's SSO/SCIM-managed memberships in line. Manual
memberships are never touched.

Names compare case-insensitively only when they are plain ASCII: case folding and NFKC turn
look-alikes into letters (`ſ` into `s`, the Kelvin sign into `k`), so a name with any other
character matches only the identical string, never a glob.
A mapping that differs from an existing one only by confusable characters is refused.
"""

from __future__ import annotations

import fnmatch
import logging
import unicodedata
from dataclasses import dataclass
from typing import Any

from confusable_homoglyphs.confusables import (  # type: ignore[import-untyped]
    confusables_data,
)
from django.contrib.auth.models import User
from django.db import transaction

from idp import audit, services
from idp.actors import Person
from idp.choices import ROLE_ORDER, AuditAction, MembershipSource, Role, SSOMappingMode
from idp.conf import setting
from idp.models import Membership, SSOGroupMapping, Team

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mapping:
    """A group pattern granting `role` in `team_slug`; `add_only` never removes or lowers."""

    group_pattern: str
    team_slug: str
    role: str
    mode: str = SSOMappingMode.MANAGE

    def matches(self, group: str) -> bool:
        return names_match(group, self.group_pattern)


def names_match(group: str, pattern: str) -> bool:
    """Whether the IdP group `group` matches the mapping's `pattern` (name or glob).

    ASCII names compare case-insensitively, as IdPs differ in how they spell them; a name
    with any other character matches only the identical string (no case folding, no
    normalisation, no glob): even canonical equivalence folds the Kelvin sign into `K`, so
    no look-alike letter ever stands in for another."""
    if group.isascii() and pattern.isascii():
        return fnmatch.fnmatchcase(group.lower(), pattern.lower())
    return group == pattern


def skeleton(name: str) -> str:
    """What `name` looks like: NFKC, case-folded, and each letter that Unicode lists as
    confusable with an ASCII one replaced by it (Cyrillic а → a, Armenian ո → n)."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch if ch.isascii() else _ascii_twin(ch) for ch in folded)


def _ascii_twin(ch: str) -> str:
    for glyph in confusables_data.get(ch, ()):
        twin = str(glyph.get("c", ""))
        if len(twin) == 1 and twin.isascii():
            return twin.casefold()
    return ch


def confusable_with(pattern: str, existing: list[str]) -> str | None:
    """The existing pattern `pattern` differs from only by confusable characters, if any
    (ASCII spellings of one name, which match alike anyway, are no confusion)."""
    for other in existing:
        if other == pattern or (other.isascii() and pattern.isascii()):
            continue
        if skeleton(other) == skeleton(pattern):
            return other
    return None


def parse_mapping(text: str) -> Mapping:
    """`PATTERN=TEAM:ROLE[:MODE]` (the settings and `sso_map` syntax) → Mapping."""
    pattern, sep, target = text.partition("=")
    parts = target.split(":")
    if not sep or not pattern.strip() or len(parts) not in (2, 3):
        raise services.ServiceError(
            f"{text!r}: write PATTERN=TEAM:ROLE or PATTERN=TEAM:ROLE:add_only", field="mapping"
        )
    mode = parts[2].strip() if len(parts) == 3 else SSOMappingMode.MANAGE
    role = parts[1].strip()
    if role not in Role.values:
        raise services.ServiceError(
            f"{text!r}: unknown role {role!r}; choose one of {', '.join(Role.values)}",
            field="role",
        )
    if mode not in SSOMappingMode.values:
        raise services.ServiceError(
            f"{text!r}: unknown mode {mode!r}; choose one of {', '.join(SSOMappingMode.values)}",
            field="mode",
        )
    return Mapping(pattern.strip(), parts[0].strip(), role, mode)


def all_mappings(*, strict: bool = False) -> list[Mapping]:
    """The admin's mappings, then the settings' (both apply). A malformed setting entry is
    logged and skipped at sign-in (one typo must not lock everybody out); `strict` raises."""
    rows = [
        Mapping(m.group_pattern, m.team.slug, m.role, m.mode)
        for m in SSOGroupMapping.objects.select_related("team")
    ]
    for text in setting("IDP_SSO_GROUP_MAPPINGS"):
        try:
            rows.append(parse_mapping(text))
        except services.ServiceError as exc:
            if strict:
                raise
            logger.error("IDP_SSO_GROUP_MAPPINGS: %s (entry skipped)", exc.message)
    return rows


@dataclass(frozen=True)
class Grant:
    role: str
    group: str  # the IdP group that granted it (recorded on the membership and the audit)
    add_only: bool


def desired_grants(groups: list[str], mappings: list[Mapping]) -> dict[str, Grant]:
    """team slug → the strongest role the user's groups give there."""
    grants: dict[str, Grant] = {}
    for mapping in mappings:
        for group in groups:
            if not mapping.matches(group):
                continue
            grant = Grant(mapping.role, group, mapping.mode == SSOMappingMode.ADD_ONLY)
            held = grants.get(mapping.team_slug)
            if held is None or ROLE_ORDER.index(Role(grant.role)) > ROLE_ORDER.index(
                Role(held.role)
            ):
                grants[mapping.team_slug] = grant
            elif held.role == grant.role and not grant.add_only:
                grants[mapping.team_slug] = grant  # a managing mapping wins a tie
    return grants


@dataclass
class SyncResult:
    added: list[str]
    changed: list[str]
    removed: list[str]
    kept_manual: list[str]


def _kept_by_add_only(membership: Membership, mappings: list[Mapping]) -> bool:
    """A lost group's membership stays when the mapping that granted it only adds."""
    granting = [
        m
        for m in mappings
        if m.team_slug == membership.team.slug and m.matches(membership.sso_group)
    ]
    return any(m.mode == SSOMappingMode.ADD_ONLY for m in granting)


@transaction.atomic
def apply_idp_groups(
    user: User, groups: list[str], *, source: str = MembershipSource.SSO
) -> SyncResult:
    """Bring `user`'s `source`-managed memberships in line with their IdP `groups`.

    Adds and changes memberships the mappings grant, removes those of `source` whose group
    is gone (unless their mapping is add-only); a manual membership is left as it is. Each
    change is audited with the IdP group it came from.
    """
    mappings = all_mappings()
    grants = desired_grants(groups, mappings)
    teams = {t.slug: t for t in Team.objects.filter(slug__in=list(grants))}
    held = {
        m.team.slug: m
        # The memberships only: a team row locked FOR UPDATE stalls every insert that names it.
        for m in Membership.objects.select_related("team")
        .filter(user=user)
        .select_for_update(of=("self",))
    }
    result = SyncResult([], [], [], [])
    for slug, grant in sorted(grants.items()):
        team = teams.get(slug)
        if team is None:
            continue  # a mapping naming a team that does not exist (yet): nothing to grant
        membership = held.get(slug)
        if membership is not None and membership.source == MembershipSource.MANUAL:
            result.kept_manual.append(slug)
            continue
        role = grant.role
        if membership is not None and grant.add_only:
            # Only add: never lower a role the user already holds.
            role = max(role, membership.role, key=lambda r: ROLE_ORDER.index(Role(r)))
        if membership is not None and membership.role == role:
            if membership.sso_group != grant.group or membership.source != source:
                Membership.objects.filter(pk=membership.pk).update(
                    sso_group=grant.group, source=source
                )
            continue
        services.set_membership(team, user, role, source=source, sso_group=grant.group)
        (result.changed if membership else result.added).append(slug)
    for slug, membership in sorted(held.items()):
        if slug in grants and slug in teams:
            continue
        if membership.source != source or _kept_by_add_only(membership, mappings):
            continue
        services.remove_membership(
            membership.team,
            user,
            details={"source": source, "sso_group": membership.sso_group, "reason": "group gone"},
        )
        result.removed.append(slug)
    return result


def groups_from_claims(data: Any) -> list[str] | None:
    """The IdP groups in a claims/attributes dict, or None when it does not carry any
    (then memberships are left alone: a provider without groups manages nothing)."""
    if not isinstance(data, dict):
        return None
    claim = setting("IDP_SSO_GROUPS_CLAIM")
    if claim not in data:
        return None
    value = data[claim]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return None
    return [str(v) for v in value if str(v).strip()]


def groups_of_sociallogin(sociallogin: Any) -> list[str] | None:
    """Groups sent at this sign-in: OIDC userinfo, then the ID token; SAML attributes."""
    extra = getattr(sociallogin.account, "extra_data", None) or {}
    for part in (extra.get("userinfo"), extra.get("id_token"), extra):
        groups = groups_from_claims(part)
        if groups is not None:
            return groups
    return None


@transaction.atomic
def save_mapping(
    group_pattern: str, team: Team, role: str, mode: str, *, actor: Person | None = None
) -> SSOGroupMapping:
    """Create or update the mapping of `group_pattern` to `team` (audited). A pattern that
    only looks like an existing one (confusable characters) is refused."""
    parse_mapping(f"{group_pattern}={team.slug}:{role}:{mode}")  # the one validation
    if refusal := confusable_refusal(group_pattern):
        raise services.ServiceError(refusal, field="group_pattern")
    mapping, created = SSOGroupMapping.objects.update_or_create(
        group_pattern=group_pattern, team=team, defaults={"role": role, "mode": mode}
    )
    audit.record(
        AuditAction.SSO_MAPPING_SAVED,
        actor=actor,
        target=mapping,
        team=team,
        details={"group_pattern": group_pattern, "role": role, "mode": mode, "created": created},
    )
    return mapping


def confusable_refusal(group_pattern: str) -> str | None:
    """Why `group_pattern` may not be mapped (None: it may): it differs from an existing
    mapping (admin rows and settings) only by look-alike characters."""
    existing = sorted({m.group_pattern for m in all_mappings()})
    other = confusable_with(group_pattern, existing)
    if other is None:
        return None
    return (
        f"{group_pattern!r} is confusable with the existing mapping {other!r}: it differs "
        "only by look-alike characters; use the existing name or a clearly different one"
    )


@transaction.atomic
def delete_mapping(mapping: SSOGroupMapping, *, actor: Person | None = None) -> None:
    """Delete a mapping (audited); memberships it granted go at their user's next sign-in."""
    audit.record(
        AuditAction.SSO_MAPPING_DELETED,
        actor=actor,
        target=mapping,
        team=mapping.team,
        details={"group_pattern": mapping.group_pattern, "role": mapping.role},
    )
    mapping.delete()
