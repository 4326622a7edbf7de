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


def approval_rules(
    run: Run, resource: Resource, plan: dict[str, Any], checks: dict[str, Any], requirement: Any
) -> Any:
    """The approval rules in force on the plan (`policies.approval_rules`)."""
    from .approval_rules import answer_for_plan

    return answer_for_plan(run, resource, plan, checks, requirement)


def register() -> None:
    from provisioning.approval_policy import register_approval_rules
    from provisioning.plan_checks import register_plan_check

    register_plan_check(check_plan)
    register_approval_rules(approval_rules)
