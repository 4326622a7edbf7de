"""Monitoring fixtures: provisioned resources made directly (no Terraform), Cost Explorer
seeding on the moto server, a local webhook receiver."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Service, Template, TemplateVersion
from idp.models import Environment, Team
from tests import helpers
from tests.utils import webhook_receiver

ALARMS = [
    {
        "metric": "ApproximateNumberOfMessagesVisible",
        "namespace": "AWS/SQS",
        "statistic": "Average",
        "threshold": 100,
        "comparison": "GreaterThanThreshold",
        "period": 300,
    }
]
COST_HINTS = {
    "fixed_monthly_usd": 1.5,
    "per_unit": [{"parameter": "allocated_storage", "usd_per_unit": 0.115, "unit": "GB-month"}],
}


@pytest.fixture
def env(db: None) -> Environment:
    return Environment.objects.get_or_create(slug="dev", defaults={"name": "Dev", "order": 1})[0]


@pytest.fixture
def make_version(db: None) -> Callable[..., TemplateVersion]:
    def make(
        slug: str,
        *,
        category: str = "",
        cost_hints: Any = None,
        alarms: Any = None,
        schema: Any = None,
    ) -> TemplateVersion:
        template, _ = Template.objects.get_or_create(
            slug=slug, defaults={"title": slug.title(), "category": category}
        )
        version = TemplateVersion.objects.create(
            template=template,
            number=template.versions.count() + 1,
            content_hash=f"{slug}-{template.versions.count()}",
            cost_hints=cost_hints or {},
            alarms=alarms or [],
            parameters_schema=schema or {},
        )
        template.current_version = version
        template.save(update_fields=["current_version"])
        return version

    return make


@pytest.fixture
def make_resource(env: Environment, make_version: Callable[..., TemplateVersion]) -> Callable:
    def make(
        team: Team,
        template: str,
        name: str,
        *,
        outputs: dict | None = None,
        parameters: dict | None = None,
        service: Service | None = None,
        cost: str | None = None,
        status: str = "provisioned",
        **kw: Any,
    ) -> Any:
        version = TemplateVersion.objects.filter(template__slug=template).first() or make_version(
            template, alarms=ALARMS if "queue" in template else None
        )
        return helpers.make_resource(
            team,
            name,
            service=service,
            template_version=version,
            environment=kw.pop("environment", env),
            parameters=parameters or {},
            outputs=outputs or {},
            status=status,
            estimated_monthly_cost=Decimal(cost) if cost else None,
            provisioned_at=timezone.now() if status == "provisioned" else None,
            **kw,
        )

    return make


def moto_post(url: str, path: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback moto server
        f"{url}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return int(response.status)


def ce_day(day: date, groups: dict[tuple[str, str], str]) -> dict[str, Any]:
    """One day of Cost Explorer results grouped by idp:team and idp:service."""
    return {
        "TimePeriod": {
            "Start": day.isoformat(),
            "End": date.fromordinal(day.toordinal() + 1).isoformat(),
        },
        "Total": {},
        "Groups": [
            {
                "Keys": [f"idp:team${team}", f"idp:service${service}"],
                "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}},
            }
            for (team, service), amount in groups.items()
        ],
        "Estimated": False,
    }


@pytest.fixture
def seed_costs(aws: str) -> Callable[..., None]:
    """Queue Cost Explorer results in moto: one result per get_cost_and_usage request."""

    def seed(*results: list[dict[str, Any]]) -> None:
        body = {
            "results": [{"ResultsByTime": days, "DimensionValueAttributes": []} for days in results]
        }
        assert moto_post(aws, "/moto-api/static/ce/cost-and-usage-results", body) == 201

    return seed


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A Slack-compatible webhook receiver on loopback: (url, received bodies)."""
    with webhook_receiver() as receiver:
        yield receiver
