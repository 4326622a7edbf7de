"""Plan runs judged by the real policies, for the Policies page and API tests: a resource of
`example-config` per team, a plan Run row, and the shipped policies evaluated on a recorded
plan whose replicas the test chooses (no Terraform)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from catalog.models import Template, TemplateVersion
from idp.models import Environment, Team
from policies.hooks import check_plan
from provisioning.choices import RunKind, RunStatus
from provisioning.models import Resource, Run

PLANS = Path(__file__).parent / "plans"


def plan_run(team: Team, name: str, *, environment: str = "prod") -> Run:
    """A finished plan Run of an `example-config` resource of `team` (rows only)."""
    env, _ = Environment.objects.get_or_create(
        slug=environment,
        defaults={"name": environment.title(), "is_production": environment == "prod"},
    )
    template, _ = Template.objects.get_or_create(
        slug="example-config", defaults={"title": "Example config"}
    )
    version, _ = TemplateVersion.objects.get_or_create(
        template=template, number=1, defaults={"content_hash": "e" * 64}
    )
    resource = Resource.objects.create(
        team=team, template=template, template_version=version, environment=env, name=name
    )
    return Run.objects.create(
        resource=resource, kind=RunKind.PLAN, status=RunStatus.SUCCEEDED, template_version=version
    )


def judge(run: Run, *, replicas: int) -> dict[str, Any]:
    """Evaluate every applicable policy on the recorded plan with `replicas` and keep the
    results with the run, as a plan run does; answers the summary."""
    document = json.loads((PLANS / "example_replicas_7.json").read_text())
    document["resource_changes"][0]["change"]["after"]["input"]["replicas"] = replicas
    # The hook a plan run calls: platform context, every applicable policy, results kept.
    return check_plan(run, run.resource, document, None)


def failing_runs(team: Team, count: int, *, prefix: str = "cfg") -> list[Run]:
    """`count` plan runs of `team` that fail `example_replicas` (9 replicas in prod)."""
    runs = []
    for index in range(count):
        run = plan_run(team, f"{prefix}-{team.slug}-{index}")
        summary = judge(run, replicas=9)
        assert any(r["policy"] == "example_replicas" for r in summary["results"]), summary
        runs.append(run)
    return runs
