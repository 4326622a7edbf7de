"""Bulk seeding: teams with guardian permissions, users, memberships, services, resources.

Rows are written with bulk_create, but shaped exactly as the services make them one by one:
`idp.services.create_team` (a group per role, the role's object permissions on the team as
guardian `GroupObjectPermission` rows) and `set_membership` (the membership plus the user in
the role's group).
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from guardian.models import GroupObjectPermission

from catalog.models import Service, Template, TemplateVersion
from idp import services as idp_services
from idp.choices import PLATFORM_ADMIN_GROUP, ROLE_ORDER, TEAM_PERMS_BY_ROLE, Role
from idp.models import Environment, Membership, Team
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.models import Resource, Run

BATCH = 5000
MEMBER_USERNAME = "bench-member"
ADMIN_USERNAME = "bench-admin"
TEMPLATE_SLUG = "bench-config"

# A provider-free module: real Terraform work without downloading a provider.
MODULE_MAIN_TF = """\
variable "value" {
  type        = string
  description = "Any text; it comes back as an output"
  default     = "hello"
}

# The platform passes these to every module.
variable "idp_team" { type = string }
variable "idp_service" { type = string }
variable "idp_environment" { type = string }
variable "idp_resource" { type = string }

resource "terraform_data" "config" {
  input = var.value
}

output "value" {
  value = terraform_data.config.output
}

output "where" {
  value = "${var.idp_team}/${var.idp_environment}/${var.idp_resource}"
}
"""

PARAMETERS_SCHEMA = {
    "type": "object",
    "properties": {"value": {"type": "string", "title": "Value", "default": "hello"}},
    "additionalProperties": False,
}

# Most resources are live; the rest cover every other status.
STATUS_WEIGHTS = [
    (ResourceStatus.PROVISIONED, 70),
    (ResourceStatus.FAILED, 6),
    (ResourceStatus.AWAITING_APPROVAL, 6),
    (ResourceStatus.PENDING, 4),
    (ResourceStatus.PLANNING, 2),
    (ResourceStatus.APPLYING, 2),
    (ResourceStatus.DESTROYED, 6),
    (ResourceStatus.REJECTED, 2),
    (ResourceStatus.DESTROYING, 2),
]
STATUS_CYCLE = [s for s, weight in STATUS_WEIGHTS for _ in range(weight)]
ROLE_CYCLE = [Role.MEMBER, Role.MEMBER, Role.VIEWER, Role.MAINTAINER, Role.MEMBER, Role.ADMIN]


@dataclass(frozen=True)
class Scale:
    teams: int
    users: int
    services: int
    resources: int
    templates: int = 5
    versions: int = 2
    runs_per_resource: int = 1
    # Resources whose plan awaits approval, in the bench member's teams (the inbox's rows).
    waiting: int = 0


FULL = Scale(teams=500, users=5000, services=20000, resources=100000, waiting=5000)
QUICK = Scale(teams=50, users=500, services=2000, resources=10000, waiting=500)
TINY = Scale(teams=2, users=6, services=4, resources=20, templates=2, waiting=6)
WAITING_PREFIX = "wait"


@dataclass
class Seeded:
    """What the load and query sections need: who signs in, and what they look at."""

    member_id: int
    admin_id: int
    member_team_ids: list[int]
    service_slug: str
    resource_id: int
    template_id: int
    counts: dict[str, int]
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)


def _batched(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _bulk(model: Any, rows: Sequence[Any]) -> list[Any]:
    created: list[Any] = []
    for chunk in _batched(rows):
        created.extend(model.objects.bulk_create(chunk, batch_size=BATCH))
    return created


def ensure_environments() -> list[Environment]:
    """dev and staging apply without approval; prod asks for it."""
    specs = [
        ("dev", {"name": "Development", "order": 10, "allows_ttl": True}),
        ("staging", {"name": "Staging", "order": 20}),
        (
            "prod",
            {"name": "Production", "order": 30, "requires_approval": True, "is_production": True},
        ),
    ]
    return [idp_services.upsert_environment(slug, **fields) for slug, fields in specs]


def create_templates(count: int, versions: int, owner: Team | None) -> list[TemplateVersion]:
    """Templates with a few versions each; the first is the provider-free `bench-config`."""
    current: list[TemplateVersion] = []
    for index in range(count):
        slug = TEMPLATE_SLUG if index == 0 else f"bench-template-{index}"
        template = Template.objects.create(
            slug=slug,
            title=slug.replace("-", " ").title(),
            description=f"Benchmark template {index}",
            category=["storage", "messaging", "database", "config"][index % 4],
            owner_team=owner,
        )
        version = None
        for number in range(1, versions + 1):
            main_tf = MODULE_MAIN_TF + f"# version {number}\n"
            version = TemplateVersion.objects.create(
                template=template,
                number=number,
                content_hash=hashlib.sha256(f"{slug}:{main_tf}".encode()).hexdigest(),
                files={"main.tf": main_tf},
                metadata={"title": template.title, "version": number},
                parameters_schema=PARAMETERS_SCHEMA,
                outputs=[
                    {"name": "value", "sensitive": False},
                    {"name": "where", "sensitive": False},
                ],
                approval_policy={},
            )
        template.current_version = version
        template.save(update_fields=["current_version"])
        current.append(version)  # type: ignore[arg-type]
    return current


def create_teams(slugs: Sequence[str]) -> list[Team]:
    """Teams, their role groups and the groups' object permissions, as create_team makes them."""
    teams = _bulk(Team, [Team(slug=s, name=s.replace("-", " ").title()) for s in slugs])
    groups = _bulk(Group, [Group(name=t.group_name(r)) for t in teams for r in ROLE_ORDER])
    team_ct = ContentType.objects.get_for_model(Team)
    perms = {p.codename: p for p in Permission.objects.filter(content_type=team_ct)}
    by_name = {g.name: g for g in groups}
    rows = [
        GroupObjectPermission(
            group=by_name[team.group_name(role)],
            permission=perms[codename],
            content_type=team_ct,
            object_pk=str(team.pk),
        )
        for team in teams
        for role in ROLE_ORDER
        for codename in TEAM_PERMS_BY_ROLE[role]
    ]
    _bulk(GroupObjectPermission, rows)
    return teams


def add_memberships(pairs: Sequence[tuple[Team, Any, str]]) -> None:
    """Memberships plus auth_user_groups rows, as set_membership makes them."""
    User = get_user_model()
    _bulk(Membership, [Membership(team=t, user=u, role=r) for t, u, r in pairs])
    names = {t.group_name(r) for t, _, r in pairs}
    groups = {g.name: g.pk for g in Group.objects.filter(name__in=names)}
    through = User.groups.through
    _bulk(through, [through(user_id=u.pk, group_id=groups[t.group_name(r)]) for t, u, r in pairs])


def create_users(usernames: Sequence[str]) -> list[Any]:
    User = get_user_model()
    # One unusable hash for all: hashing thousands of passwords would dominate the seed time.
    unusable = make_password(None)
    return _bulk(
        User, [User(username=n, email=f"{n}@example.com", password=unusable) for n in usernames]
    )


def create_services(teams: Sequence[Team], count: int, prefix: str = "svc") -> list[Service]:
    rows = [
        Service(
            team=teams[i % len(teams)],
            name=f"{prefix} {i}",
            slug=f"{prefix}-{i:06d}",
            description=f"Benchmark service {i} of {teams[i % len(teams)].slug}",
            repository_url=f"https://github.com/example/{prefix}-{i:06d}",
            lifecycle=["experimental", "production", "deprecated"][i % 3],
            tags=["bench", f"group-{i % 7}"],
        )
        for i in range(count)
    ]
    return _bulk(Service, rows)


def create_resources(
    teams: Sequence[Team],
    services: Sequence[Service],
    versions: Sequence[TemplateVersion],
    environments: Sequence[Environment],
    requesters: dict[int, Any],
    count: int,
    *,
    prefix: str = "res",
    runs_per_resource: int = 1,
    statuses: Sequence[str] = STATUS_CYCLE,
) -> Sequence[Resource]:
    """Resources spread over teams, environments, templates and statuses, each with its runs.

    On PostgreSQL the database makes the rows itself (seed_sql), by the same formulas.
    """
    if connection.vendor == "postgresql":
        from . import seed_sql

        seed_sql.resources(
            team_ids=[t.pk for t in teams],
            service_ids=[s.pk for s in services],
            version_ids=[v.pk for v in versions],
            template_ids=[v.template_id for v in versions],
            environment_ids=[e.pk for e in environments],
            requester_ids=[getattr(requesters.get(t.pk), "pk", None) for t in teams],
            statuses=[str(s) for s in statuses],
            count=count,
            prefix=prefix,
        )
        seed_sql.runs(prefix, runs_per_resource)
        return Resource.objects.filter(name__startswith=f"{prefix}-").order_by("pk")  # type: ignore[return-value]
    services_by_team: dict[int, list[Service]] = {}
    for service in services:
        services_by_team.setdefault(service.team_id, []).append(service)
    created: list[Resource] = []
    for chunk_start in range(0, count, BATCH):
        rows = []
        for i in range(chunk_start, min(count, chunk_start + BATCH)):
            team = teams[i % len(teams)]
            own = services_by_team.get(team.pk) or [None]
            version = versions[(i // len(teams)) % len(versions)]
            status = statuses[i % len(statuses)]
            rows.append(
                Resource(
                    team=team,
                    service=own[(i // len(teams)) % len(own)],
                    template_id=version.template_id,
                    template_version=version,
                    environment=environments[i % len(environments)],
                    name=f"{prefix}-{i:06d}",
                    parameters={"value": f"value-{i}"},
                    status=status,
                    outputs={"value": f"value-{i}"} if status == ResourceStatus.PROVISIONED else {},
                    requested_by=requesters.get(team.pk),
                )
            )
        resources = Resource.objects.bulk_create(rows, batch_size=BATCH)
        created.extend(resources)
        create_runs(resources, runs_per_resource)
    return created


def create_waiting(
    teams: Sequence[Team],
    services: Sequence[Service],
    versions: Sequence[TemplateVersion],
    environment: Environment,
    requesters: dict[int, Any],
    count: int,
    *,
    prefix: str = WAITING_PREFIX,
) -> Sequence[Resource]:
    """`count` resources awaiting approval in `environment`, each with one succeeded plan
    whose approval window is open: what the approvals inbox and its badge list. The
    requesters must not be the approvers measured (no one approves their own request)."""
    resources = create_resources(
        teams, services, versions, [environment], requesters, count, prefix=prefix,
        runs_per_resource=0, statuses=[ResourceStatus.AWAITING_APPROVAL],
    )  # fmt: skip
    now = timezone.now()
    plans = [
        Run(
            resource=resource,
            kind=RunKind.PLAN,
            status=RunStatus.SUCCEEDED,
            template_version_id=resource.template_version_id,
            parameters=resource.parameters,
            plan_hash=hashlib.sha256(f"{resource.name}:plan".encode()).hexdigest(),
            plan_summary={"add": 1, "change": 0, "destroy": 0},
            approval_requirement={"approvals": 1, "platform_admin": False},
            started_at=now,
            finished_at=now,
        )
        for resource in resources
    ]
    _bulk(Run, plans)
    return resources


def reopen_waiting(prefix: str = WAITING_PREFIX) -> int:
    """Move the waiting plans' approval window to now: a reused database may be older than
    the window, and a closed window would empty the inbox being measured."""
    now = timezone.now()
    return Run.objects.filter(resource__name__startswith=f"{prefix}-", kind=RunKind.PLAN).update(
        started_at=now, finished_at=now
    )


def create_runs(resources: Sequence[Resource], per_resource: int) -> None:
    kinds = itertools.cycle([RunKind.PLAN, RunKind.APPLY, RunKind.DRIFT])
    rows = [
        Run(
            resource=resource,
            kind=next(kinds),
            status=RunStatus.SUCCEEDED if n or resource.status != "failed" else RunStatus.FAILED,
            template_version_id=resource.template_version_id,
            parameters=resource.parameters,
            plan_summary={"add": 1, "change": 0, "destroy": 0},
        )
        for resource in resources
        if resource.status != ResourceStatus.PENDING
        for n in range(per_resource)
    ]
    _bulk(Run, rows)


def is_seeded(scale: Scale) -> bool:
    User = get_user_model()
    return (
        Team.objects.filter(slug__startswith="team-").count() == scale.teams
        # Resources the provisioning benchmark requested (prov-…) do not count.
        and Resource.objects.filter(name__startswith="res-").count()
        == scale.resources - scale.waiting
        and User.objects.filter(username__in=[MEMBER_USERNAME, ADMIN_USERNAME]).count() == 2
        and Resource.objects.filter(name__startswith=f"{WAITING_PREFIX}-").count() == scale.waiting
    )


def describe(member_username: str = MEMBER_USERNAME) -> Seeded:
    """Look up what the load needs in an already seeded database."""
    User = get_user_model()
    member = User.objects.get(username=member_username)
    admin = User.objects.get(username=ADMIN_USERNAME)
    team_ids = sorted(Membership.objects.filter(user=member).values_list("team_id", flat=True))
    resource = Resource.objects.filter(team_id__in=team_ids).order_by("pk").first()
    service = Service.objects.filter(team_id__in=team_ids).order_by("pk").first()
    template = Template.objects.get(slug=TEMPLATE_SLUG)
    counts = {
        "teams": Team.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "group_object_permissions": GroupObjectPermission.objects.count(),
        "services": Service.objects.count(),
        "resources": Resource.objects.count(),
        "runs": Run.objects.count(),
        "waiting_plans": Run.objects.filter(
            kind=RunKind.PLAN, resource__name__startswith=f"{WAITING_PREFIX}-"
        ).count(),
        "templates": Template.objects.count(),
        "template_versions": TemplateVersion.objects.count(),
    }
    return Seeded(
        member_id=member.pk,
        admin_id=admin.pk,
        member_team_ids=team_ids,
        service_slug=service.slug if service else "",
        resource_id=resource.pk if resource else 0,
        template_id=template.pk,
        counts=counts,
    )


class _Stages:
    """Seconds per seeding stage, for the report's profile."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._last = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = round(now - self._last, 2)
        self._last = now


def _skip_fk_triggers() -> None:
    """A bulk load consistent by construction: skip the per-row foreign-key triggers for
    this transaction. Only a superuser may; anyone else just seeds a little slower."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        pass


@transaction.atomic
def seed(scale: Scale) -> Seeded:
    """Write the whole data set; the bench member maintains 3 teams (where `scale.waiting`
    plans await approval), the bench admin is a platform admin."""
    started = time.perf_counter()
    stages = _Stages()
    if connection.vendor == "postgresql":
        _skip_fk_triggers()
    environments = ensure_environments()
    teams = create_teams([f"team-{i:04d}" for i in range(scale.teams)])
    versions = create_templates(scale.templates, scale.versions, owner=teams[0])
    stages.done("teams, groups, permissions, templates")
    users = create_users([f"user-{i:05d}" for i in range(scale.users)])
    pairs: list[tuple[Team, Any, str]] = []
    for i, user in enumerate(users):
        pairs.append((teams[i % len(teams)], user, ROLE_CYCLE[i % len(ROLE_CYCLE)]))
        # Every third user also belongs to a second team.
        second = teams[(i * 7 + 1) % len(teams)]
        if i % 3 == 0 and second.pk != teams[i % len(teams)].pk:
            pairs.append((second, user, Role.MEMBER))
    member, admin = create_users([MEMBER_USERNAME, ADMIN_USERNAME])
    # A maintainer: the role that approves plans, so the inbox lists the waiting plans for them.
    pairs.extend((team, member, Role.MAINTAINER) for team in teams[:3])
    add_memberships(pairs)
    admin.groups.add(Group.objects.get_or_create(name=PLATFORM_ADMIN_GROUP)[0])
    stages.done("users and memberships")
    requesters = {team.pk: user for team, user, _ in pairs}
    services = create_services(teams, scale.services)
    stages.done("services")
    create_resources(
        teams,
        services,
        versions,
        environments,
        requesters,
        scale.resources - scale.waiting,  # the waiting ones are part of the total
        runs_per_resource=scale.runs_per_resource,
    )
    stages.done("resources and runs")
    # Requested by someone else in the team: the member may approve them.
    others: dict[int, Any] = {}
    for team, user, _ in pairs:
        if user.pk != member.pk:
            others.setdefault(team.pk, user)
    prod = next(e for e in environments if e.requires_approval)
    member_teams = {team.pk for team in teams[:3]}
    # In team order (as create_services spreads them), which create_resources relies on.
    own_services = [service for service in services if service.team_id in member_teams]
    create_waiting(teams[:3], own_services, versions, prod, others, scale.waiting)
    stages.done("plans awaiting approval")  # SET LOCAL ends with this transaction
    result = describe()
    result.seconds = time.perf_counter() - started
    result.stages = stages.times
    return result


def scale_dict(scale: Scale) -> dict[str, int]:
    return asdict(scale)
