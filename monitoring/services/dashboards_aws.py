"""CloudWatch dashboards: one per service and environment (an environment is its own AWS
account), with a row of metric widgets per provisioned resource, generated from the
template's alarm hints (with their thresholds drawn in) and its type's key metrics. Put
again whenever a resource of the service is provisioned or destroyed; deleted when none is
left. The portal's own charts (`monitoring/dashboards.py`) stay as they are.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from provisioning.choices import ResourceStatus

from ..models import ServiceDashboard
from . import aws
from .alarms import alarm_definitions
from .metrics import METRIC_SETS, dimensions, resource_type

if TYPE_CHECKING:
    from catalog.models import Service
    from idp.models import Environment
    from provisioning.models import Resource

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 8, 6  # three widgets a row on CloudWatch's 24-column grid
UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def dashboard_name(service: Service, environment: Environment) -> str:
    return UNSAFE.sub("-", f"idp-{service.team.slug}-{service.slug}-{environment.slug}")[:255]


def _metric_widgets(resource: Resource, region: str) -> list[dict[str, Any]]:
    rtype = resource_type(resource)
    if rtype is None:
        return []
    alarms = {a["metric"]: a for a in alarm_definitions(resource, rtype)}
    # The template's alarm metrics first (they matter to its authors), then the type's.
    specs = [a["spec"] for a in alarms.values()]
    specs += [s for s in METRIC_SETS[rtype] if s.metric not in alarms]
    widgets = []
    for spec in specs:
        alarm = alarms.get(spec.metric)
        namespace = alarm["namespace"] if alarm else spec.namespace
        stat = alarm["statistic"] if alarm else spec.statistic
        line: list[Any] = [namespace, spec.metric]
        for dim in dimensions(resource, rtype, spec):
            line += [dim["Name"], dim["Value"]]
        properties: dict[str, Any] = {
            "title": f"{resource.name}: {spec.metric}",
            "metrics": [line],
            "stat": stat,
            "period": int(alarm["period"]) if alarm else 300,
            "region": region,
            "view": "timeSeries",
        }
        if alarm:
            properties["annotations"] = {
                "horizontal": [{"label": "alarm threshold", "value": alarm["threshold"]}]
            }
        widgets.append({"type": "metric", "properties": properties})
    return widgets


def dashboard_body(
    service: Service, environment: Environment, resources: list[Resource]
) -> dict[str, Any]:
    """The dashboard JSON: a title, then each resource's metric widgets on the grid."""
    region = getattr(environment, "aws_region", "") or settings.AWS_REGION
    widgets: list[dict[str, Any]] = [
        {
            "type": "text",
            "x": 0,
            "y": 0,
            "width": 24,
            "height": 2,
            "properties": {
                "markdown": f"# {service.team.slug}/{service.slug} in {environment.slug}\n"
                "Kept by the IDP: changes made here are replaced."
            },
        }
    ]
    y = 2
    for resource in resources:
        row = _metric_widgets(resource, region)
        for index, widget in enumerate(row):
            widget.update(
                x=(index % 3) * WIDTH, y=y + (index // 3) * HEIGHT, width=WIDTH, height=HEIGHT
            )
        widgets += row
        y += ((len(row) + 2) // 3) * HEIGHT
    return {"widgets": widgets}


def sync_service_dashboard(service: Service, environment: Environment) -> ServiceDashboard | None:
    """Put (or delete) the service's dashboard in the environment from its live resources."""
    from provisioning.models import Resource

    live = (
        Resource.objects.filter(
            service=service, environment=environment, status=ResourceStatus.PROVISIONED
        )
        .select_related("team", "template", "template_version", "environment")
        .order_by("name")
    )
    # Only resources whose metrics we know make widgets (a fixture module has none).
    resources = [r for r in live if resource_type(r) is not None]
    name = dashboard_name(service, environment)
    row = ServiceDashboard.objects.filter(service=service, environment=environment).first()
    if not resources and row is None:
        return None
    row = row or ServiceDashboard(service=service, environment=environment, name=name)
    body = dashboard_body(service, environment, resources)
    try:
        client = aws.client("cloudwatch", environment)
        if resources:
            answer = aws.call(
                client.put_dashboard, DashboardName=name, DashboardBody=json.dumps(body)
            )
            problems = answer.get("DashboardValidationMessages") or []
            row.error = "; ".join(str(p.get("Message", "")) for p in problems)[:2000]
        else:
            aws.call(client.delete_dashboards, DashboardNames=[name])
            row.error = ""
    except Exception as exc:  # noqa: BLE001 - recorded; the next move of a resource retries
        logger.warning("dashboard %s not synced: %s", name, aws.error_text(exc))
        row.error = aws.error_text(exc)
    else:
        row.deleted = not resources
        row.resources = len(resources)
        row.widgets = len(body["widgets"]) - 1 if resources else 0
        row.synced_at = timezone.now()
    row.name = name
    row.save()
    return row


def sync_for_resource(resource_id: int) -> ServiceDashboard | None:
    """The dashboard of the resource's service in its environment (none without a service)."""
    from provisioning.models import Resource

    resource = (
        Resource.objects.select_related("service__team", "environment")
        .filter(pk=resource_id)
        .first()
    )
    if resource is None or resource.service is None:
        return None
    return sync_service_dashboard(resource.service, resource.environment)
