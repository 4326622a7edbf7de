"""SQL queries per request, in process, at two data sizes: the count must not grow with rows.

Inside one transaction that is rolled back at the end: a probe user maintaining 3 fresh teams
(made by the real `create_team` / `set_membership`) sees a few rows; the same pages are measured
again after hundreds more rows land in those teams (on the probed service and resource, and
plans awaiting approval in the inbox). The platform admin sees the whole seeded database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import TemplateVersion
from idp import services as idp_services
from idp.choices import Role
from idp.models import Environment, Team

from . import seed
from .pages import MODEL_BACKEND, Page, api_token, pages

PROBE_TEAMS = ["qprobe-a", "qprobe-b", "qprobe-c"]


@dataclass
class PageQueries:
    key: str
    title: str
    path: str
    max_queries: int = 0
    status_small: int = 0
    status_large: int = 0
    queries_small: int = 0
    queries_large: int = 0
    rows_small: int = 0
    rows_large: int = 0
    sql_large: list[str] = field(default_factory=list)
    slowest_ms: float = 0.0
    slowest_sql: str = ""

    @property
    def available(self) -> bool:
        return self.status_small == 200 and self.status_large == 200

    @property
    def independent(self) -> bool:
        return self.available and self.queries_large <= self.queries_small


class _Rollback(Exception):
    """Raised to undo the probe data."""


def _client(page: Page, user: Any, token: str) -> Client:
    client = Client()
    if page.auth == "session":
        client.force_login(user, backend=MODEL_BACKEND)
    elif page.auth == "token":
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _measure(client: Client, path: str) -> tuple[int, int, list[dict[str, str]]]:
    client.get(path)  # warm caches (content types, token last-used write) first
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    return response.status_code, len(ctx.captured_queries), list(ctx.captured_queries)


def _rows(page: Page, user: Any, service: Any, resource: Any) -> int:
    """The rows the page is about: what should not change its query count."""
    from catalog.models import Template
    from provisioning.approval_policy import decidable_plans
    from provisioning.models import Resource, Run

    kind = page.key.rsplit("_", 1)[0]
    if kind == "catalog":
        return Template.objects.count()
    if kind == "service":
        return Resource.objects.filter(service=service).count()
    if kind == "resource":
        return Run.objects.filter(resource=resource).count()
    if kind == "inbox":
        return decidable_plans(user).count()
    return Resource.objects.for_user(user).count()


def measure(admin_username: str = seed.ADMIN_USERNAME, grow_by: int = 300) -> list[PageQueries]:
    """Queries per request of every page, with few rows and with `grow_by` more rows."""
    results: list[PageQueries] = []
    try:
        with transaction.atomic():
            results = _measure_all(admin_username, grow_by)
            raise _Rollback
    except _Rollback:
        pass
    return results


def _measure_all(admin_username: str, grow_by: int) -> list[PageQueries]:
    User = get_user_model()
    admin = User.objects.get(username=admin_username)
    teams = [idp_services.create_team(slug) for slug in PROBE_TEAMS]
    probe, _ = idp_services.ensure_user("qprobe-user")
    requester, _ = idp_services.ensure_user("qprobe-requester")
    for team in teams:
        # A maintainer, as the bench member: the approvals inbox lists the plans for them.
        idp_services.set_membership(team, probe, Role.MAINTAINER)
        idp_services.set_membership(team, requester, Role.MEMBER)
    environments = list(Environment.objects.order_by("order"))
    versions = list(TemplateVersion.objects.filter(template__slug=seed.TEMPLATE_SLUG))
    services = seed.create_services(teams, len(teams), prefix="qprobe-svc")
    requesters = {t.pk: probe for t in teams}
    resources = seed.create_resources(
        teams, services, versions, environments, requesters, 2 * len(teams), prefix="qprobe-res"
    )
    prod = next(e for e in environments if e.requires_approval)
    waiting_by = {t.pk: requester for t in teams}
    seed.create_waiting(
        teams, services, versions, prod, waiting_by, len(teams), prefix="qprobe-wait"
    )
    service, resource = services[0], resources[0]
    users = {"member": probe, "admin": admin}
    tokens = {"member": api_token(probe), "admin": api_token(admin)}
    measured = pages(service_slug=service.slug, resource_id=resource.pk)
    clients = {p.key: _client(p, users.get(p.user), tokens.get(p.user, "")) for p in measured}
    results = {p.key: PageQueries(p.key, p.title, p.path, p.max_queries) for p in measured}
    for page in measured:
        status, count, _ = _measure(clients[page.key], page.path)
        r = results[page.key]
        r.status_small, r.queries_small = status, count
        r.rows_small = _rows(page, users.get(page.user, probe), service, resource)
    _grow(teams, service, resource, versions, environments, requesters, grow_by)
    seed.create_waiting(
        teams, services, versions, prod, waiting_by, grow_by // 3, prefix="qgrow-wait"
    )
    for page in measured:
        status, count, sql = _measure(clients[page.key], page.path)
        r = results[page.key]
        r.status_large, r.queries_large = status, count
        r.sql_large = [q["sql"] for q in sql]
        if sql:
            slowest = max(sql, key=lambda q: float(q["time"]))
            r.slowest_ms, r.slowest_sql = 1000 * float(slowest["time"]), slowest["sql"]
        r.rows_large = _rows(page, users.get(page.user, probe), service, resource)
    return list(results.values())


def _grow(
    teams: list[Team],
    service: Any,
    resource: Any,
    versions: list[Any],
    environments: list[Environment],
    requesters: dict[int, Any],
    grow_by: int,
) -> None:
    """Hundreds more resources in the probe teams and on the probed service; runs on the
    probed resource; more services and catalog templates."""
    more_services = seed.create_services(teams, max(grow_by // 3, 3), prefix="qgrow-svc")
    seed.create_resources(
        teams, more_services, versions, environments, requesters, grow_by, prefix="qgrow-res"
    )
    seed.create_resources(
        teams[:1], [service], versions, environments, requesters, grow_by // 3,
        prefix="qgrow-svc-res",
    )  # fmt: skip
    seed.create_runs([resource], 30)
    for index in range(10):
        _extra_template(index, teams[0])


def _extra_template(index: int, owner: Team) -> None:
    from catalog.models import Template

    template = Template.objects.create(
        slug=f"qgrow-template-{index}", title=f"Qgrow template {index}", owner_team=owner
    )
    version = TemplateVersion.objects.create(
        template=template,
        number=1,
        content_hash=f"qgrow-{index}",
        files={"main.tf": seed.MODULE_MAIN_TF},
        parameters_schema=seed.PARAMETERS_SCHEMA,
    )
    template.current_version = version
    template.save(update_fields=["current_version"])
