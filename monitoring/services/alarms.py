"""CloudWatch alarms of resources: created on provision, removed on destroy, states refreshed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from idp import audit

from ..choices import AuditAction, CollectionKind, CollectionStatus
from ..models import AlarmState, Collection
from . import aws
from .metrics import METRIC_SETS, MetricSpec, dimensions, resource_type

if TYPE_CHECKING:
    from provisioning.models import Resource

logger = logging.getLogger(__name__)

COMPARISONS = {
    ">": "GreaterThanThreshold",
    ">=": "GreaterThanOrEqualToThreshold",
    "<": "LessThanThreshold",
    "<=": "LessThanOrEqualToThreshold",
}


def alarm_name(resource: Resource, metric: str) -> str:
    return f"idp-{resource.team.slug}-{resource.environment.slug}-{resource.name}-{metric}"[:255]


def alarm_definitions(resource: Resource, rtype: str) -> list[dict[str, Any]]:
    """The template's alarms with defaults filled in; bad entries are skipped."""
    known = {s.metric: s for s in METRIC_SETS[rtype]}
    found = []
    for raw in getattr(resource.template_version, "alarms", None) or []:
        if not isinstance(raw, dict) or not raw.get("metric"):
            continue
        spec = known.get(raw["metric"])
        try:
            threshold = float(raw.get("threshold", 0))
            period = int(raw.get("period", 300))
            evaluation = int(raw.get("evaluation_periods", 1))
        except (TypeError, ValueError):
            continue
        comparison = str(raw.get("comparison", "GreaterThanThreshold"))
        found.append(
            {
                "metric": str(raw["metric"]),
                "namespace": str(raw.get("namespace") or (spec.namespace if spec else "")),
                "statistic": str(raw.get("statistic") or (spec.statistic if spec else "Average")),
                "threshold": threshold,
                "comparison": COMPARISONS.get(comparison, comparison),
                "period": period,
                "evaluation_periods": evaluation,
                "spec": spec or MetricSpec(str(raw["metric"]), "Average", ""),
            }
        )
    return [d for d in found if d["namespace"]]


def on_resource_provisioned(resource: Resource) -> list[AlarmState]:
    """Create the template's CloudWatch alarms for a newly provisioned resource."""
    rtype = resource_type(resource)
    if rtype is None:
        return []
    definitions = alarm_definitions(resource, rtype)
    if not definitions:
        return []
    created: list[AlarmState] = []
    collection = Collection.objects.create(kind=CollectionKind.ALARMS)
    try:
        client = aws.client("cloudwatch", resource.environment)
        # Every alarm notifies the team's topic (created on first use): state changes reach
        # the portal and the team's channels through SNS, not only by polling.
        from .sns import ensure_team_topic

        topic_arn = ensure_team_topic(resource.team, resource.environment).topic_arn
        for alarm in definitions:
            name = alarm_name(resource, alarm["metric"])
            aws.call(
                client.put_metric_alarm,
                AlarmName=name,
                AlarmDescription=f"IDP: {alarm['metric']} of {resource}",
                Namespace=alarm["namespace"],
                MetricName=alarm["metric"],
                Dimensions=dimensions(resource, rtype, alarm["spec"]),
                Statistic=alarm["statistic"],
                Period=alarm["period"],
                EvaluationPeriods=alarm["evaluation_periods"],
                Threshold=alarm["threshold"],
                ComparisonOperator=alarm["comparison"],
                AlarmActions=[topic_arn],
                OKActions=[topic_arn],
                Tags=[
                    {"Key": "idp:team", "Value": resource.team.slug},
                    {"Key": "idp:environment", "Value": resource.environment.slug},
                ],
            )
            values = {
                "resource": resource,
                "metric": alarm["metric"],
                "namespace": alarm["namespace"],
                "threshold": alarm["threshold"],
                "comparison": alarm["comparison"],
                "deleted": False,
            }
            # CloudWatch keeps a replaced alarm's state; a new (or re-made) one has no data.
            state = AlarmState.objects.filter(alarm_name=name, deleted=False).first()
            if state is None:
                values["state"] = "INSUFFICIENT_DATA"
            state, _ = AlarmState.objects.update_or_create(alarm_name=name, defaults=values)
            created.append(state)
            collection.stored += 1
    except Exception as exc:  # noqa: BLE001 - a missing alarm must not fail the provisioning
        logger.warning("Creating alarms of %s failed: %s", resource, exc)
        collection.errors.append({"resource": resource.pk, "error": aws.error_text(exc)})
    _close(collection)
    if created:
        audit.record(
            AuditAction.MONITORING_ALARMS_CREATED,
            target=resource,
            team=resource.team,
            details={"alarms": [a.alarm_name for a in created]},
        )
    return created


def on_resource_destroyed(resource: Resource) -> int:
    """Delete the CloudWatch alarms of a destroyed resource; returns how many were removed."""
    states = list(AlarmState.objects.filter(resource=resource, deleted=False))
    if not states:
        return 0
    collection = Collection.objects.create(kind=CollectionKind.ALARMS)
    names = [s.alarm_name for s in states]
    try:
        client = aws.client("cloudwatch", resource.environment)
        for offset in range(0, len(names), 100):
            aws.call(client.delete_alarms, AlarmNames=names[offset : offset + 100])
    except Exception as exc:  # noqa: BLE001 - recorded; the destroy itself has succeeded
        logger.warning("Deleting alarms of %s failed: %s", resource, exc)
        collection.errors.append({"resource": resource.pk, "error": aws.error_text(exc)})
        _close(collection)
        return 0
    AlarmState.objects.filter(pk__in=[s.pk for s in states]).update(
        deleted=True, state="DELETED", updated_at=timezone.now()
    )
    collection.stored = len(names)
    _close(collection)
    audit.record(
        AuditAction.MONITORING_ALARMS_DELETED,
        target=resource,
        team=resource.team,
        details={"alarms": names},
    )
    return len(names)


def refresh_alarm_states() -> int:
    """Copy the current state of every live alarm from CloudWatch; returns how many changed.
    Alarms made before alarms notified (no actions) are put again with the team's topic."""
    changed = 0
    silent: dict[int, Any] = {}
    states = AlarmState.objects.filter(deleted=False).select_related(
        "resource__environment",
        "resource__team",
        "resource__template",
        "resource__template_version",
    )
    by_env: dict[int, list[AlarmState]] = {}
    for state in states:
        by_env.setdefault(state.resource.environment_id, []).append(state)
    for items in by_env.values():
        try:
            client = aws.client("cloudwatch", items[0].resource.environment)
            for offset in range(0, len(items), 100):
                chunk = {s.alarm_name: s for s in items[offset : offset + 100]}
                page = aws.call(client.describe_alarms, AlarmNames=list(chunk))
                for alarm in page.get("MetricAlarms", []):
                    known = chunk.get(alarm["AlarmName"])
                    if known and not alarm.get("AlarmActions"):
                        silent[known.resource_id] = known.resource
                    if known and known.state != alarm["StateValue"]:
                        known.state = alarm["StateValue"]
                        known.state_reason = alarm.get("StateReason", "")[:2000]
                        known.save(update_fields=["state", "state_reason", "updated_at"])
                        changed += 1
        except Exception as exc:  # noqa: BLE001 - states stay as last known
            logger.warning("describe_alarms failed: %s", exc)
    for resource in silent.values():
        on_resource_provisioned(resource)  # put_metric_alarm replaces: now with actions
    return changed


def _close(collection: Collection) -> None:
    collection.status = CollectionStatus.FAILED if collection.errors else CollectionStatus.SUCCEEDED
    collection.finished_at = timezone.now()
    collection.save(update_fields=["status", "stored", "errors", "finished_at"])
