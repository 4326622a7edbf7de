"""The lifecycle table, enumerated: every allowed move works, every other one is refused and
changes nothing, and nothing outside `provisioning/lifecycle.py` writes a status."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path
from typing import Any

import pytest

from idp.models import AuditEvent
from provisioning import lifecycle
from provisioning.choices import ResourceEvent, ResourceStatus, RunStatus
from provisioning.lifecycle import RESOURCE_TRANSITIONS, RUN_TRANSITIONS, TransitionRefused
from provisioning.models import Resource, Run

ROOT = Path(__file__).resolve().parents[2]
APPS = ("idp", "catalog", "provisioning", "pipelines", "monitoring", "benchmarks")

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
    allowed = refused = 0
    for event, src, to in EVERY_MOVE:
        Resource.objects.filter(pk=resource.pk).update(status=src)
        resource.refresh_from_db()
        audits = AuditEvent.objects.count()
        if (event, src, to) in RESOURCE_TRANSITIONS:
            lifecycle.transition(resource, to, event)
            resource.refresh_from_db()
            assert resource.status == to
            assert AuditEvent.objects.filter(action=event.value).exists()
            allowed += 1
        else:
            with pytest.raises(TransitionRefused):
                lifecycle.transition(resource, to, event)
            resource.refresh_from_db()
            assert resource.status == src, (event, src, to)
            assert AuditEvent.objects.count() == audits
            refused += 1
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


def _status_writes(path: Path) -> list[str]:
    """Places in a module that write a `status` of a Resource or Run outside the lifecycle."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            chain = ast.unparse(node.func)
            writes = node.func.attr in ("update", "create", "get_or_create", "update_or_create")
            if (
                writes
                and ("Resource" in chain or "Run." in chain)
                and any(k.arg == "status" for k in node.keywords)
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {chain}(status=…)")
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr == "status":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(target)} = …")
    return found


def test_nothing_outside_the_lifecycle_writes_a_resource_or_run_status() -> None:
    offenders: list[str] = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts or path.name == "lifecycle.py":
                continue
            writes = _status_writes(path)
            if app == "provisioning":
                offenders += writes
            else:  # other apps have statuses of their own; only Resource/Run ones count
                offenders += [w for w in writes if "Resource" in w or "Run." in w]
    create_calls = [o for o in offenders if ".create(status" in o]
    assert not offenders or create_calls == offenders, "\n".join(offenders)
    # The two creations set the lifecycle's first status, never a literal.
    for place in create_calls:
        file, line = place.split(" ", 1)[0].rsplit(":", 1)
        text = (ROOT / file).read_text().splitlines()
        window = "\n".join(text[int(line) - 1 : int(line) + 15])
        assert "lifecycle.first_" in window, place


def test_the_docs_diagram_is_drawn_from_the_table() -> None:
    page = (ROOT / "docs" / "lifecycle.md").read_text()
    marker = "<!-- generated by `manage.py lifecycle_diagram`: do not edit below -->\n"
    assert page.split(marker, 1)[1] == lifecycle.mermaid()
