"""Budgets: saving a team's budget, mirroring it to AWS Budgets, raising and sending alerts."""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from idp import audit
from idp.actors import Person
from idp.choices import Role
from idp.conf import setting
from idp.models import Membership, Team
from idp.services import ServiceError

from ..choices import AuditAction, ThresholdKind
from ..models import Alert, Budget
from . import aws
from .cache import bump
from .costs import forecast_month, month_to_date

logger = logging.getLogger(__name__)


def clean_amount(value: Any) -> Decimal:
    """A budget amount: a non-negative number with at most two decimals."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise ServiceError("Enter a number.", field="monthly_amount") from None
    if not amount.is_finite() or isinstance(value, bool):
        raise ServiceError("Enter a number.", field="monthly_amount")
    if amount < 0:
        raise ServiceError("The amount cannot be negative.", field="monthly_amount")
    if amount >= Decimal("1e10"):
        raise ServiceError("The amount is too large.", field="monthly_amount")
    return amount.quantize(Decimal("0.01"))


def clean_thresholds(value: Any) -> list[dict[str, Any]]:
    """Thresholds as [{"percent": int, "kind": "actual"|"forecast"}], unique and sorted."""
    if not isinstance(value, list) or not value:
        raise ServiceError("Give at least one threshold.", field="thresholds")
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for item in value:
        if not isinstance(item, dict):
            raise ServiceError('Each threshold is {"percent": N, "kind": …}.', field="thresholds")
        kind = item.get("kind", ThresholdKind.ACTUAL)
        percent = item.get("percent")
        if kind not in ThresholdKind.values:
            raise ServiceError(f"Unknown threshold kind {kind!r}.", field="thresholds")
        if (
            isinstance(percent, bool)
            or not isinstance(percent, int | float)
            or not (0 < percent <= 1000)
        ):
            raise ServiceError(
                "A threshold percent is a number from 1 to 1000.", field="thresholds"
            )
        seen[(str(kind), int(percent))] = {"percent": int(percent), "kind": str(kind)}
    return [seen[k] for k in sorted(seen, key=lambda k: (k[0], k[1]))]


@transaction.atomic
def save_budget(
    team: Team,
    *,
    monthly_amount: Any,
    thresholds: Any = None,
    actor: Person | None = None,
) -> Budget:
    """Create or change a team's monthly budget; mirrored to AWS Budgets after commit."""
    amount = clean_amount(monthly_amount)
    budget = Budget.objects.select_for_update().filter(team=team).first()
    created = budget is None
    if budget is None:
        budget = Budget(team=team, aws_budget_name=f"idp-{team.slug}")
    if thresholds is not None:
        budget.thresholds = clean_thresholds(thresholds)
    previous = None if created else str(budget.monthly_amount)
    budget.monthly_amount = amount
    budget.save()
    audit.record(
        AuditAction.BUDGET_CREATED if created else AuditAction.BUDGET_UPDATED,
        actor=actor,
        target=budget,
        team=team,
        details={
            "monthly_amount": str(amount),
            "previous_amount": previous,
            "thresholds": budget.thresholds,
        },
    )
    bump(team.slug)
    transaction.on_commit(lambda: _queue_mirror(budget.pk))
    return budget


@transaction.atomic
def delete_budget(budget: Budget, *, actor: Person | None = None) -> None:
    """Remove a team's budget here and in AWS Budgets."""
    name, team = budget.aws_budget_name, budget.team
    audit.record(AuditAction.BUDGET_DELETED, actor=actor, target=budget, team=team)
    budget.delete()
    bump(team.slug)
    transaction.on_commit(lambda: _delete_aws_budget(name))


def _queue_mirror(budget_pk: int) -> None:
    from ..tasks import mirror_budget as task

    task.delay(budget_pk)


def _aws_budget(budget: Budget) -> dict[str, Any]:
    return {
        "BudgetName": budget.aws_budget_name,
        "BudgetLimit": {"Amount": str(budget.monthly_amount), "Unit": budget.currency},
        "TimeUnit": "MONTHLY",
        "BudgetType": "COST",
        "CostFilters": {"TagKeyValue": [f"user:idp:team${budget.team.slug}"]},
    }


def _notifications(budget: Budget) -> list[dict[str, Any]]:
    return [
        {
            "Notification": {
                "NotificationType": "FORECASTED" if t["kind"] == "forecast" else "ACTUAL",
                "ComparisonOperator": "GREATER_THAN",
                "Threshold": float(t["percent"]),
                "ThresholdType": "PERCENTAGE",
            },
            "Subscribers": [
                {"SubscriptionType": "EMAIL", "Address": email}
                for email in recipients(budget.team)[:10]
            ]
            or [{"SubscriptionType": "EMAIL", "Address": settings.DEFAULT_FROM_EMAIL}],
        }
        for t in budget.thresholds
    ]


class BudgetsUnavailable(Exception):
    """AWS Budgets throttled or failed on its side (or could not be reached): worth retrying."""


def mirror_budget(budget_pk: int, *, raise_transient: bool = False) -> bool | None:
    """Create or replace the budget in AWS Budgets; the outcome is stored on the Budget.

    None when the budget no longer exists (nothing to mirror). With `raise_transient`, a
    failure AWS may not repeat (throttling, 5xx, network) raises BudgetsUnavailable after
    it is recorded, for the task's retry policy.
    """
    budget = Budget.objects.select_related("team").filter(pk=budget_pk).first()
    if budget is None:
        return None
    error = ""
    transient = False
    try:
        client = aws.client("budgets", region="us-east-1")
        account = aws.account_id()
        try:
            aws.call(client.describe_budget, AccountId=account, BudgetName=budget.aws_budget_name)
            exists = True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NotFoundException":
                raise
            exists = False
        if exists:
            try:
                # Not retried: an API without update_budget is answered by replacing below.
                client.update_budget(AccountId=account, NewBudget=_aws_budget(budget))
                for note in client.describe_notifications_for_budget(
                    AccountId=account, BudgetName=budget.aws_budget_name
                ).get("Notifications", []):
                    client.delete_notification(
                        AccountId=account, BudgetName=budget.aws_budget_name, Notification=note
                    )
                for item in _notifications(budget):
                    client.create_notification(
                        AccountId=account, BudgetName=budget.aws_budget_name, **item
                    )
            except ClientError:
                # Some AWS-compatible APIs lack update_budget: replace the budget instead.
                aws.call(client.delete_budget, AccountId=account, BudgetName=budget.aws_budget_name)
                exists = False
        if not exists:
            aws.call(
                client.create_budget,
                AccountId=account,
                Budget=_aws_budget(budget),
                NotificationsWithSubscribers=_notifications(budget),
            )
    except Exception as exc:  # noqa: BLE001 - recorded on the budget; retried by the next save
        logger.warning("Mirroring budget of %s to AWS failed: %s", budget.team, exc)
        error = aws.error_text(exc)
        transient = aws.is_transient(exc)
    Budget.objects.filter(pk=budget.pk).update(
        aws_synced_at=None if error else timezone.now(), aws_sync_error=error
    )
    if transient and raise_transient:
        raise BudgetsUnavailable(error)
    return not error


def _delete_aws_budget(name: str) -> None:
    try:
        client = aws.client("budgets", region="us-east-1")
        aws.call(client.delete_budget, AccountId=aws.account_id(), BudgetName=name)
    except Exception as exc:  # noqa: BLE001 - nothing to keep; the budget is gone here
        logger.warning("Deleting AWS budget %s failed: %s", name, exc)


def recipients(team: Team) -> list[str]:
    """Emails of the team's maintainers and admins."""
    return sorted(
        {
            m.user.email
            for m in Membership.objects.filter(
                team=team, role__in=[Role.MAINTAINER, Role.ADMIN]
            ).select_related("user")
            if m.user.email and m.user.is_active
        }
    )


def evaluate_budget(budget: Budget, today: date | None = None) -> list[Alert]:
    """Raise one Alert for each threshold crossed this month that has none yet."""
    today = today or timezone.now().date()
    period = today.strftime("%Y-%m")
    spend = {
        ThresholdKind.ACTUAL: month_to_date(budget.team, today),
        ThresholdKind.FORECAST: forecast_month(budget.team, today),
    }
    raised = []
    for threshold in budget.thresholds:
        kind, percent = threshold["kind"], int(threshold["percent"])
        amount = spend[ThresholdKind(kind)]
        if budget.monthly_amount <= 0 or amount * 100 < budget.monthly_amount * percent:
            continue
        label = (
            "forecast for the month" if kind == ThresholdKind.FORECAST else "month-to-date spend"
        )
        message = (
            f"Team {budget.team.slug}: {label} is {amount} {budget.currency}, "
            f"{percent}% threshold of the {budget.monthly_amount} {budget.currency} budget "
            f"for {period} crossed."
        )
        try:
            with transaction.atomic():
                alert, created = Alert.objects.get_or_create(
                    budget=budget,
                    threshold=percent,
                    kind=kind,
                    period=period,
                    defaults={
                        "team": budget.team,
                        "amount": amount,
                        "budget_amount": budget.monthly_amount,
                        "message": message,
                    },
                )
        except IntegrityError:
            # Another worker raised the same alert at the same moment.
            continue
        if created:
            audit.record(
                AuditAction.BUDGET_ALERT_RAISED,
                target=alert,
                team=budget.team,
                details={
                    "threshold": percent,
                    "kind": kind,
                    "period": period,
                    "amount": str(amount),
                },
            )
            transaction.on_commit(partial(notify, alert.pk))
            raised.append(alert)
    if raised:
        bump(budget.team.slug)
    return raised


def evaluate_budgets(today: date | None = None) -> list[Alert]:
    """Check every team's budget; returns the alerts raised now."""
    alerts: list[Alert] = []
    for budget in Budget.objects.select_related("team"):
        alerts.extend(evaluate_budget(budget, today))
    return alerts


def notify(alert_pk: int) -> None:
    """Email the alert to the team's maintainers and admins, and post it to the webhook."""
    alert = Alert.objects.select_related("team").get(pk=alert_pk)
    to = recipients(alert.team)
    if to:
        send_mail(
            subject=f"[IDP] Budget alert for {alert.team.slug}: {alert.threshold}% ({alert.kind})",
            message=alert.message,
            from_email=None,
            recipient_list=to,
            fail_silently=True,
        )
    webhook_status = ""
    url = setting("IDP_SLACK_WEBHOOK_URL")
    if url:
        body = json.dumps({"text": alert.message}).encode()
        request = urllib.request.Request(  # noqa: S310 - configured by the platform admin
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                webhook_status = f"HTTP {response.status}"
        except Exception as exc:  # noqa: BLE001 - the alert stands even when the webhook fails
            webhook_status = f"failed: {type(exc).__name__}"[:100]
    Alert.objects.filter(pk=alert.pk).update(emailed_to=to, webhook_status=webhook_status)


def needs_admin_approval(team: Team, estimate: Decimal | None, today: date | None = None) -> bool:
    """True when the month's forecast (spend so far plus the rest of the month) plus the
    estimate exceeds the team's budget."""
    budget = Budget.objects.filter(team=team).first()
    if budget is None:
        return False
    projected = forecast_month(team, today) + (estimate or Decimal("0"))
    return projected > budget.monthly_amount
