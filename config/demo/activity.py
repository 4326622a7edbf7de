"""The demo's activity, step by step, each step skipped when its result is already there."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import close_old_connections

from catalog.services.loader import load_template
from catalog.services.sync import store_template
from idp.models import Team
from monitoring.models import Budget, CostRecord, MetricSample
from monitoring.services import budgets, costs
from provisioning import actions
from provisioning.choices import (
    RESOURCE_BUSY,
    RESOURCE_GONE,
    RUN_ACTIVE,
    ResourceStatus,
    RunKind,
)
from provisioning.engine import backend
from provisioning.models import Resource

from . import aws_data, pipelines

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Stored as the template's source, relative to the project (no machine paths).
TEMPLATE_SOURCE = "config/demo/templates"
REQUESTER = "alice"
CHANGED_MESSAGE = "changed outside the platform"


@dataclass(frozen=True)
class DemoResource:
    """A resource alice requests, and the status the demo waits for."""

    template: str
    environment: str
    name: str
    parameters: dict[str, Any]
    target: str
    team: str = "payments"
    service: str = "payments-api"

    @property
    def label(self) -> str:
        return f"{self.team}/{self.environment}/{self.name}"


# A queue whose metrics the dashboards chart, a configuration that will drift, and a prod
# request for bob (a payments maintainer) to decide.
QUEUE = DemoResource(
    "demo-queue",
    "dev",
    "orders",
    {"visibility_timeout": 45, "retention_hours": 96},
    ResourceStatus.PROVISIONED,
)
DRIFTING = DemoResource(
    "example-config",
    "sandbox",
    "feature-flags",
    {"message": "hello", "replicas": 1, "labels": {"owner": "payments"}},
    ResourceStatus.PROVISIONED,
)
AWAITING = DemoResource(
    "example-config",
    "prod",
    "checkout-config",
    {"message": "hello", "replicas": 2, "labels": {"tier": "gold"}},
    ResourceStatus.AWAITING_APPROVAL,
)
RESOURCES = (QUEUE, DRIFTING, AWAITING)
SETTLED = {ResourceStatus.PROVISIONED, ResourceStatus.AWAITING_APPROVAL}

# Budgets: payments keeps headroom (its forecast plus any request stays under it, so bob's
# approval is enough: over budget, the budget gate would ask for a platform admin); search
# is near its limit, which the budget check turns into an alert.
ROOMY_FACTOR = Decimal("2")
NEAR_LIMIT_USED = Decimal("0.9")


def find(spec: DemoResource) -> Resource | None:
    """The live demo resource of `spec`, if it was requested before."""
    return (
        Resource.objects.filter(
            team__slug=spec.team, environment__slug=spec.environment, name=spec.name
        )
        .exclude(status__in=RESOURCE_GONE)
        .select_related("team", "environment", "template", "template_version")
        .order_by("-pk")
        .first()
    )


@dataclass
class Activity:
    """Runs the demo's steps; `say` reports progress, `timeout` bounds the wait for runs."""

    portal_url: str
    say: Callable[[str], None] = print
    timeout: float = 900.0
    poll: float = 1.0
    problems: list[str] = field(default_factory=list)

    def run(self) -> list[str]:
        """Every step; returns what did not work (empty: the demo is complete)."""
        started = time.monotonic()
        for step in (self.load_template, self.costs_and_budgets, self.pipeline):
            self._step(step)
        self._step(self.resources)
        took = time.monotonic() - started
        if self.problems:
            self.say(f"demo: finished in {took:.0f} s with problems: " + "; ".join(self.problems))
        else:
            self.say(f"demo: ready ({took:.0f} s)")
        return self.problems

    def _step(self, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - one failed step must not stop the others
            message = f"{step.__name__.replace('_', ' ')}: {type(exc).__name__}: {exc}"
            self.problems.append(message)
            self.say(f"demo: {message}")

    # --- steps --------------------------------------------------------------------

    def load_template(self) -> None:
        """The demo's own template (a provider-free queue stand-in), through the catalog."""
        for folder in sorted(p for p in TEMPLATES.iterdir() if p.is_dir()):
            parsed = load_template(folder)
            _, version, is_new = store_template(
                parsed, source_path=f"{TEMPLATE_SOURCE}/{folder.name}"
            )
            if is_new:
                self.say(f"demo: template {parsed.slug} loaded (version {version.number})")

    def costs_and_budgets(self) -> None:
        """Costs from the local Cost Explorer, budgets on them, then the budget check."""
        teams = {t.slug: t for t in Team.objects.filter(slug__in=aws_data.DEMO_TEAMS)}
        if not CostRecord.objects.filter(team__in=teams.values()).exists():
            collection = aws_data.seed_costs()
            if collection.errors:
                raise RuntimeError(f"cost collection: {collection.errors[0]}")
            self.say(
                f"demo: costs collected from the local Cost Explorer ({collection.stored} "
                "daily records)"
            )
        admin = get_user_model().objects.filter(username="admin").first()
        for slug, used_share in (("payments", None), ("search", NEAR_LIMIT_USED)):
            team = teams.get(slug)
            if team is None or Budget.objects.filter(team=team).exists():
                continue
            if used_share is None:
                # Whole dollars, rounded up: a round budget, never below what was meant.
                amount = (costs.forecast_month(team) * ROOMY_FACTOR).quantize(
                    Decimal("1"), rounding=ROUND_UP
                )
            else:
                # To the cent: early in a month the spend is a few dollars.
                amount = (costs.month_to_date(team) / used_share).quantize(
                    costs.CENT, rounding=ROUND_UP
                )
            amount = max(amount, Decimal("1"))
            budgets.save_budget(team, monthly_amount=amount, actor=admin)
            spent = costs.month_to_date(team)
            self.say(
                f"demo: budget of {slug}: {amount} USD a month, {spent} USD spent so far "
                f"({spent * 100 / amount:.0f}%)"
            )
        for alert in budgets.evaluate_budgets():
            self.say(f"demo: budget alert: {alert.message}")

    def pipeline(self) -> None:
        """The payments API's pipeline and its week of runs, as signed webhooks."""
        pipeline = pipelines.ensure_pipeline()
        if pipeline.runs.exists():
            return
        sent = pipelines.deliver_history(pipeline, self.portal_url)
        self.say(
            f"demo: pipeline {pipeline}: {sent} workflow_run webhooks delivered "
            f"({pipeline.runs.count()} runs recorded)"
        )

    def resources(self) -> None:
        """Request what is missing, then follow the worker until each reaches its target."""
        alice = get_user_model().objects.get(username=REQUESTER)
        for spec in RESOURCES:
            resource = find(spec)
            if resource is None:
                resource = actions.request_resource(
                    actor=alice,
                    template=spec.template,
                    version=None,
                    team=spec.team,
                    environment=spec.environment,
                    name=spec.name,
                    parameters=spec.parameters,
                    service=spec.service,
                ).resource
                self.say(f"demo: alice requested {spec.label} ({spec.template})")
            elif resource.status == ResourceStatus.FAILED and not resource.provisioned_at:
                # A plan that failed or waited past the approval window: plan it again.
                actions.retry(resource, actor=alice)
                self.say(f"demo: {spec.label} was {resource.status}; planned again")
        self.say("demo: waiting for the worker (Terraform plans and applies)…")
        self._follow()

    # --- following the worker -------------------------------------------------------

    def _follow(self) -> None:
        deadline = time.monotonic() + self.timeout
        pending = {spec.label: spec for spec in RESOURCES}
        last: dict[str, str] = {}
        while pending:
            close_old_connections()
            for label, spec in list(pending.items()):
                resource = find(spec)
                if resource is None:
                    pending.pop(label)
                    self.problems.append(f"{label} was not requested")
                    continue
                if last.get(label) != resource.status:
                    last[label] = resource.status
                    self.say(f"demo: {label} is {resource.get_status_display().lower()}")
                if resource.status == ResourceStatus.FAILED:
                    pending.pop(label)
                    self.problems.append(f"{label} failed: {resource.last_error[:200]}")
                elif resource.status == spec.target:
                    if self._after(spec, resource):
                        pending.pop(label)
                elif resource.status not in RESOURCE_BUSY:
                    # Moved on since an earlier demo (bob approved it…): left as it is.
                    pending.pop(label)
                    if resource.status not in SETTLED:
                        self.problems.append(f"{label} is {resource.status}")
            if not pending:
                return
            if time.monotonic() > deadline:
                self.problems.append(
                    f"gave up waiting after {self.timeout:.0f} s for " + ", ".join(sorted(pending))
                )
                return
            time.sleep(self.poll)

    def _after(self, spec: DemoResource, resource: Resource) -> bool:
        """What follows once the resource reached its target; True when all of it is done."""
        if spec is QUEUE:
            return self._metrics(resource)
        if spec is DRIFTING:
            return self._drift(resource)
        if spec is AWAITING:
            self.say(f"demo: {spec.label} awaits approval: bob can approve it")
        return True

    def _metrics(self, resource: Resource) -> bool:
        if not MetricSample.objects.filter(resource=resource).exists():
            put = aws_data.put_queue_metrics(resource)
            collection = aws_data.collect_metrics()
            stored = MetricSample.objects.filter(resource=resource).count()
            self.say(
                f"demo: {put} CloudWatch datapoints put for {resource.name}; the metrics "
                f"collector stored {stored} ({collection.status})"
            )
            if not stored:
                self.problems.append(f"no metrics were collected for {resource.name}")
        return True

    def _drift(self, resource: Resource) -> bool:
        """Change the resource behind the platform's back once, then let the drift check
        find it; True once a drift check has finished."""
        if resource.drift_checked_at is not None:
            if resource.drifted:
                details = ", ".join(resource.drift_details.get("outputs") or []) or "resources"
                self.say(f"demo: drift detected on {resource.name} ({details})")
            return True
        if resource.runs.filter(kind=RunKind.DRIFT, status__in=RUN_ACTIVE).exists():
            return False
        change_state_behind_the_platform(resource)
        self.say(f"demo: {resource.name}'s state changed outside the platform; drift check queued")
        actions.detect_drift(Resource.objects.filter(pk=resource.pk))
        return False


def change_state_behind_the_platform(resource: Resource) -> None:
    """Edit the resource's Terraform state object in the state bucket, as someone with access
    to the bucket could: the stored message is no longer the one requested."""
    s3 = backend.platform_client("s3")
    bucket, key = backend.state_bucket(), backend.state_key(resource)
    doc = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    for item in doc.get("resources", []):
        if item.get("type") != "terraform_data" or item.get("name") != "config":
            continue
        for instance in item.get("instances", []):
            for side in ("input", "output"):
                value = (instance.get("attributes", {}).get(side) or {}).get("value")
                if isinstance(value, dict):
                    value["message"] = CHANGED_MESSAGE
    if "message" in doc.get("outputs", {}):
        doc["outputs"]["message"]["value"] = CHANGED_MESSAGE
    doc["serial"] = int(doc.get("serial", 0)) + 1
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(doc).encode())
