"""The lifecycle table, enumerated: every allowed move works, every other one is refused and
changes nothing, and nothing outside `provisioning/lifecycle.py` writes a status."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from idp.models import AuditEvent
from provisioning import lifecycle
from provisioning.choices import ResourceEvent, ResourceStatus, RunStatus
from provisioning.lifecycle import RESOURCE_TRANSITIONS, RUN_TRANSITIONS, TransitionRefused
from provisioning.models import Resource, Run

from . import status_writes

ROOT = Path(__file__).resolve().parents[2]

EVERY_MOVE = list(itertools.product(ResourceEvent, ResourceStatus, ResourceStatus))


@pytest.fixture
def resource(db: None, teams: dict, make_resource: Any) -> Resource:
    return make_resource(teams["payments"])


@pytest.fixture
def make_resource(db: None) -> Any:
    from catalog.models import Template, TemplateVersion
    from idp.models import Environment

    def make(team: Any, status: str = ResourceStatus.PENDING) -> Resource:
        template = Template.objects.create(slug="t", title="T", category="other")
        version = TemplateVersion.objects.create(template=template, number=1, files={})
        env = Environment.objects.create(slug="dev", name="dev")
        return Resource.objects.create(
            team=team,
            template=template,
            template_version=version,
            environment=env,
            name="r",
            status=status,
        )

    return make


def test_the_table_reaches_every_status_from_the_first_one() -> None:
    reached = {lifecycle.first_status()}
    frontier = list(reached)
    while frontier:
        here = frontier.pop()
        for _event, src, to in RESOURCE_TRANSITIONS:
            if src == here and to not in reached:
                reached.add(to)
                frontier.append(to)
    assert reached == set(ResourceStatus)


def test_gone_statuses_are_final() -> None:
    finals = {ResourceStatus.DESTROYED, ResourceStatus.REJECTED}
    assert not [t for t in RESOURCE_TRANSITIONS if t[1] in finals]


@pytest.mark.django_db
def test_every_resource_move_is_allowed_exactly_when_the_table_says(resource: Resource) -> None:
    # Grouped by the status moved from: a refused move is refused before it writes, so the
    # row is set once per status and checked after its refused moves (fast: ~3 600 moves).
    allowed = refused = 0
    for src in ResourceStatus:
        Resource.objects.filter(pk=resource.pk).update(status=src)
        resource.refresh_from_db()
        audits = AuditEvent.objects.count()
        for event, to in itertools.product(ResourceEvent, ResourceStatus):
            if (event, src, to) not in RESOURCE_TRANSITIONS:
                with pytest.raises(TransitionRefused):
                    lifecycle.transition(resource, to, event)
                assert resource.status == src, (event, src, to)
                refused += 1
        resource.refresh_from_db()
        assert resource.status == src
        assert AuditEvent.objects.count() == audits, src
        for event, to in itertools.product(ResourceEvent, ResourceStatus):
            if (event, src, to) in RESOURCE_TRANSITIONS:
                lifecycle.transition(resource, to, event)
                resource.refresh_from_db()
                assert resource.status == to
                assert AuditEvent.objects.filter(action=event.value).exists()
                allowed += 1
                Resource.objects.filter(pk=resource.pk).update(status=src)
                resource.refresh_from_db()
    assert allowed == len(RESOURCE_TRANSITIONS)
    assert refused == len(EVERY_MOVE) - allowed


@pytest.mark.django_db
def test_a_stale_caller_is_refused_and_overwrites_nothing(resource: Resource) -> None:
    stale = Resource.objects.get(pk=resource.pk)  # read while pending
    fresh = Resource.objects.get(pk=resource.pk)
    lifecycle.transition(fresh, ResourceStatus.PLANNING, ResourceEvent.PLAN_STARTED)
    lifecycle.transition(fresh, ResourceStatus.FAILED, ResourceEvent.RUN_STOPPED)
    with pytest.raises(TransitionRefused, match="changed meanwhile"):
        lifecycle.transition(stale, ResourceStatus.PLANNING, ResourceEvent.PLAN_STARTED)
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.FAILED


@pytest.mark.django_db
def test_every_run_move_is_allowed_exactly_when_the_table_says(resource: Resource) -> None:
    run = Run.objects.create(
        resource=resource, kind="plan", template_version=resource.template_version
    )
    for src, to in itertools.product(RunStatus, RunStatus):
        Run.objects.filter(pk=run.pk).update(status=src)
        run.refresh_from_db()
        if (src, to) not in RUN_TRANSITIONS:
            with pytest.raises(TransitionRefused):
                lifecycle._move_run(run, src, to, {})
            run.refresh_from_db()
            assert run.status == src
            continue
        if to == RunStatus.RUNNING:
            assert lifecycle.start_run(run, worker="w")
        else:
            assert lifecycle.end_run(run, to, expect=src, error="x")
        run.refresh_from_db()
        assert run.status == to
        # The same move again finds the run no longer in `src`: a duplicate does nothing.
        if to == RunStatus.RUNNING:
            assert not lifecycle.start_run(run, worker="w")
        else:
            assert not lifecycle.end_run(run, to, expect=src)


# Every package of the platform; tests, migrations and benchmarks write statuses to set
# scenes up, and migrations are history.
APPS = sorted(
    p.name
    for p in ROOT.iterdir()
    if (p / "__init__.py").exists() and p.name not in ("tests", "benchmarks")
)


def _platform_modules() -> list[tuple[str, Path]]:
    return [
        (app, path)
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts and path != ROOT / "provisioning" / "lifecycle.py"
    ]


def test_nothing_outside_the_lifecycle_writes_a_resource_or_run_status() -> None:
    models = status_writes.Models.load()
    assert {"idp", "catalog", "provisioning", "fleet", "policies"} <= set(APPS)
    offenders = [
        found
        for app, path in _platform_modules()
        for found in status_writes.status_writes(
            path, str(path.relative_to(ROOT)), strict=app == "provisioning", models=models
        )
    ]
    assert offenders == [], "\n".join(offenders)


# Each form of a status write, as someone might write it outside the lifecycle.
WRITE_FORMS = {
    "manager": "Resource.objects.filter(pk=1).update(status='failed')",
    "queryset_in_a_variable": "qs = Resource.objects.filter(pk=1)\n    qs.update(status='failed')",
    "dict_kwargs": "Run.objects.filter(pk=1).update(**{'status': 'failed'})",
    "built_dict_kwargs": "values = {'error': 'x'}\n    values['status'] = 'failed'\n"
    "    Run.objects.filter(pk=1).update(**values)",
    "setattr": "r = Resource.objects.get(pk=1)\n    setattr(r, 'status', 'failed')\n    r.save()",
    "attribute": "for run in Run.objects.all():\n        run.status = 'failed'\n        run.save()",
    "annotated_parameter": "def inner(x: Resource) -> None:\n        x.status = 'failed'",
    "through_a_relation": "item.resource.status = 'failed'",
    "bulk_update": "rows = list(Resource.objects.all())\n"
    "    Resource.objects.bulk_update(rows, ['status'])",
    "raw_sql": "cursor.execute('UPDATE provisioning_run SET status = %s', ['failed'])",
    "related_manager": "team.resources.update(status='failed')",
    "related_manager_chain": "resource.runs.filter(kind='plan').update(status='failed')",
    "update_or_create_defaults": "Run.objects.update_or_create(pk=1, defaults={'status': 'x'})",
    "create_with_a_literal": "Resource.objects.create(name='x', status='provisioned')",
}


@pytest.mark.parametrize("form", sorted(WRITE_FORMS))
@pytest.mark.parametrize("app", ["fleet", "provisioning"])
def test_the_guard_catches_every_form_of_status_write(tmp_path: Path, form: str, app: str) -> None:
    module = tmp_path / "elsewhere.py"
    module.write_text(
        "from provisioning.models import Resource, Run\n\n\n"
        f"def sneak(item, team, resource, cursor) -> None:\n    {WRITE_FORMS[form]}\n"
    )
    found = status_writes.status_writes(module, "elsewhere.py", strict=app == "provisioning")
    assert found, f"{form} was not caught"


def test_the_guard_leaves_other_apps_statuses_and_reads_alone(tmp_path: Path) -> None:
    module = tmp_path / "fleet_writer.py"
    module.write_text(
        "from fleet.models import FleetItem, FleetUpgrade\n"
        "from provisioning.models import Resource, Run\n\n\n"
        "def drive(fleet: FleetUpgrade, item: FleetItem, bars) -> None:\n"
        "    fleet.items.filter(status='pending').update(status='cancelled')\n"
        "    FleetItem.objects.filter(pk=item.pk).update(**{'status': 'planning'})\n"
        "    item.status = 'skipped'\n"
        "    bars.update(1, status='label')\n"
        "    Resource.objects.filter(status='provisioned').count()\n"
        "    Run.objects.create(resource=item.resource, status=lifecycle.first_run_status())\n"
    )
    assert status_writes.status_writes(module, "fleet_writer.py", strict=False) == []


def test_the_docs_diagram_is_drawn_from_the_table() -> None:
    page = (ROOT / "docs" / "lifecycle.md").read_text()
    marker = "<!-- generated by `manage.py lifecycle_diagram`: do not edit below -->\n"
    assert page.split(marker, 1)[1] == lifecycle.mermaid()
