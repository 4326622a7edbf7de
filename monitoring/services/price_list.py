"""The price catalog refreshed from the AWS Price List Query API (`pricing:GetProducts`).

Every price of the current catalog that has a known Price List query is asked again; what
answers becomes a new catalog version (source: the Price List, dated today), what does not
keeps its price from the version before. Nothing is stored when the API is out of reach.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from django.utils import timezone

from idp import audit
from idp.conf import setting

from ..choices import AuditAction
from ..models import Price, PriceCatalog
from . import aws
from .pricing import seed_shipped, shipped_file, store_catalog

logger = logging.getLogger(__name__)

SOURCE = "AWS Price List Query API"
# The Price List Query API answers in these regions only; the prices are of any region.
API_REGION = "us-east-1"


@dataclass(frozen=True)
class Query:
    service_code: str
    filters: dict[str, str]
    scale: Decimal = Decimal("1")  # from the Price List's unit to the catalog's


def query_for(rtype: str, component: str, variant: str, region: str) -> Query | None:
    """The GetProducts query of one catalog price, or None when it has none."""
    where = {"regionCode": region}
    if rtype == "aws_db_instance" and component == "instance_hour":
        return Query(
            "AmazonRDS",
            {
                **where,
                "instanceType": variant,
                "databaseEngine": "PostgreSQL",
                "deploymentOption": "Single-AZ",
            },
        )
    if rtype == "aws_db_instance" and component == "storage_gb_month":
        return Query(
            "AmazonRDS",
            {
                **where,
                "productFamily": "Database Storage",
                "volumeApiName": variant,
                "databaseEngine": "PostgreSQL",
                "deploymentOption": "Single-AZ",
            },
        )
    if rtype == "aws_instance" and component == "instance_hour":
        return Query(
            "AmazonEC2",
            {
                **where,
                "instanceType": variant,
                "operatingSystem": "Linux",
                "tenancy": "Shared",
                "preInstalledSw": "NA",
                "capacitystatus": "Used",
            },
        )
    if rtype == "aws_ebs_volume" and component == "storage_gb_month":
        return Query("AmazonEC2", {**where, "productFamily": "Storage", "volumeApiName": variant})
    if rtype == "aws_lambda_function" and component == "gb_second":
        return Query("AWSLambda", {**where, "group": "AWS-Lambda-Duration"})
    if rtype == "aws_lambda_function" and component == "requests_million":
        return Query("AWSLambda", {**where, "group": "AWS-Lambda-Requests"}, Decimal(1_000_000))
    if rtype == "aws_s3_bucket" and component == "storage_gb_month":
        return Query("AmazonS3", {**where, "productFamily": "Storage", "volumeType": "Standard"})
    return None


def on_demand_usd(item: dict[str, Any]) -> Decimal | None:
    """The first (lowest tier) non-zero on-demand USD price of one Price List product."""
    for term in (item.get("terms", {}).get("OnDemand") or {}).values():
        dimensions = list((term.get("priceDimensions") or {}).values())
        dimensions.sort(key=lambda d: float(d.get("beginRange") or 0))
        for dimension in dimensions:
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if usd is not None and Decimal(usd) > 0:
                return Decimal(usd)
    return None


def get_price(client: Any, query: Query) -> Decimal | None:
    """One price from GetProducts (every page until one product has an on-demand price)."""
    kwargs: dict[str, Any] = {
        "ServiceCode": query.service_code,
        "Filters": [
            {"Type": "TERM_MATCH", "Field": name, "Value": value}
            for name, value in query.filters.items()
        ],
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    while True:
        page = aws.call(client.get_products, **kwargs)
        for raw in page.get("PriceList", []):
            item = json.loads(raw) if isinstance(raw, str) else raw
            usd = on_demand_usd(item)
            if usd is not None:
                return usd * query.scale
        if not page.get("NextToken"):
            return None
        kwargs["NextToken"] = page["NextToken"]


def pricing_client() -> Any:
    endpoint = setting("IDP_PRICING_ENDPOINT") or None
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30
    )
    return boto3.session.Session().client(
        "pricing", region_name=API_REGION, endpoint_url=endpoint, config=config
    )


@dataclass
class Refresh:
    """What a refresh did: the new catalog version (None when nothing answered)."""

    region: str
    catalog: PriceCatalog | None = None
    refreshed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    kept: int = 0
    errors: list[str] = field(default_factory=list)


def refresh_prices(region: str | None = None) -> Refresh:
    """Ask the Price List for every price of the region's current catalog that has a query;
    store a new catalog version when any answered (the rest keep their price)."""
    region = region or setting("IDP_PRICING_REGION")
    result = Refresh(region=region)
    current = PriceCatalog.objects.filter(region=region).order_by("-source_date", "-pk").first()
    if current is None:
        if not shipped_file(region).exists():
            result.errors.append(f"no price catalog for {region}: ship one or refresh another")
            return result
        current = seed_shipped(region)
    prices = list(Price.objects.filter(catalog=current))
    rows = {(p.resource_type, p.component, p.variant): p.usd for p in prices}
    client = pricing_client()
    answered: set[tuple[str, str, str]] = set()
    for key in sorted(rows):
        query = query_for(*key, region)
        if query is None:
            continue
        try:
            usd = get_price(client, query)
        except EndpointConnectionError as exc:
            result.errors.append(f"the Price List API is out of reach: {exc}")
            break
        except Exception as exc:  # noqa: BLE001 - recorded; the other prices go on
            result.errors.append(f"{' '.join(k for k in key if k)}: {aws.error_text(exc)}")
            continue
        if usd is None:
            continue
        answered.add(key)
        name = " ".join(k for k in key if k)
        result.refreshed.append(name)
        if usd.quantize(Decimal("0.00000001")) != rows[key]:
            result.changed.append(f"{name}: {rows[key].normalize()} → {usd.normalize()}")
        rows[key] = usd
    result.kept = len(rows) - len(answered)
    if not answered:
        return result
    result.catalog = store_catalog(
        region=region,
        source=SOURCE,
        source_date=timezone.now().date(),
        assumptions=dict(current.assumptions),
        rows=[(*key, usd) for key, usd in rows.items()],
        currency=current.currency,
        refreshed=answered,
    )
    audit.record(
        AuditAction.MONITORING_PRICES_REFRESHED,
        target=result.catalog,
        details={
            "region": region,
            "refreshed": len(answered),
            "changed": len(result.changed),
            "errors": len(result.errors),
        },
    )
    return result
