"""The policies app's hook into provisioning, registered in `PoliciesConfig.ready()`."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from provisioning.models import Resource, Run


def check_plan(
    run: Run, resource: Resource, plan: dict[str, Any], estimate: Decimal | None
) -> dict[str, Any]:
    """Every applicable policy on the plan plus its platform context; the findings are kept
    with the run (for its page and the policies' trends) and summarised for provisioning."""
    from .services import evaluate_document, platform_context, record_results

    document = {**plan, "idp": platform_context(resource, run, estimate)}
    report = evaluate_document(
        document,
        environment=resource.environment.slug,
        template=resource.template.slug,
        team=resource.team.slug,
    )
    record_results(run, report)
    return report.as_json()


def register() -> None:
    from provisioning.plan_checks import register_plan_check

    register_plan_check(check_plan)
