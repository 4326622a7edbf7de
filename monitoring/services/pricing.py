"""The price catalog (versioned list prices per resource type and attribute) and a plan's
cost priced from it, change by change.

A plan's cost is priced from its `resource_changes`: each managed resource's `before` and
`after` values through the pricer of its type. A type the catalog does not know, or a
variant it has no price for (an instance class, a storage type), is listed in `unpriced`
with the reason: never a silent zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from idp.conf import setting

from ..models import Price, PriceCatalog

CENT = Decimal("0.01")
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "prices"
NO_CHARGE = "no_charge"
# The unit each component of the catalog is priced per.
UNITS = {
    "instance_hour": "hour",
    "cluster_hour": "hour",
    "gateway_hour": "hour",
    "public_ipv4_hour": "hour",
    "application_hour": "hour",
    "network_hour": "hour",
    "capacity_unit_hour": "capacity unit-hour",
    "read_capacity_unit_hour": "RCU-hour",
    "write_capacity_unit_hour": "WCU-hour",
    "storage_gb_month": "GB-month",
    "processed_gb": "GB",
    "ingestion_gb": "GB",
    "gb_second": "GB-second",
    "requests_million": "million requests",
    "read_request_million": "million read requests",
    "write_request_million": "million write requests",
    "publishes_million": "million publishes",
    "key_month": "key-month",
    NO_CHARGE: "",
}


class Unpriced(Exception):
    """A resource the catalog cannot price, and why."""


# --- the catalog ---------------------------------------------------------------------


def shipped_file(region: str) -> Path:
    return SHIPPED_DIR / f"{region}.yaml"


def read_catalog_file(path: Path) -> dict[str, Any]:
    """A catalog file as data: region, currency, source, source_date, assumptions, prices
    ({type: {component: {variant: usd}}}) and the types that cost nothing."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("prices"), dict):
        raise ValueError(f"{path.name}: not a price catalog (no `prices`)")
    return data


def catalog_rows(data: dict[str, Any]) -> list[tuple[str, str, str, Decimal]]:
    """(type, component, variant, usd) of every price of a catalog file, no-charge types
    included at zero."""
    rows = []
    for rtype, components in data["prices"].items():
        for component, variants in (components or {}).items():
            for variant, usd in (variants or {}).items():
                rows.append((str(rtype), str(component), str(variant or ""), Decimal(str(usd))))
    for rtype in data.get("no_charge") or []:
        rows.append((str(rtype), NO_CHARGE, "", Decimal("0")))
    return rows


@transaction.atomic
def store_catalog(
    *,
    region: str,
    source: str,
    source_date: date,
    assumptions: dict[str, Any],
    rows: list[tuple[str, str, str, Decimal]],
    currency: str = "USD",
    refreshed: set[tuple[str, str, str]] | None = None,
) -> PriceCatalog:
    """A new catalog version with these prices."""
    catalog = PriceCatalog.objects.create(
        region=region,
        currency=currency,
        source=source,
        source_date=source_date,
        assumptions=assumptions,
    )
    Price.objects.bulk_create(
        Price(
            catalog=catalog,
            resource_type=rtype,
            component=component,
            variant=variant,
            usd=usd,
            unit=UNITS.get(component, component),
            refreshed=(rtype, component, variant) in (refreshed or set()),
        )
        for rtype, component, variant, usd in rows
    )
    return catalog


def seed_shipped(region: str = "us-east-1") -> PriceCatalog:
    """The shipped catalog of a region as a catalog version (once: the same source date
    and source are not stored twice)."""
    data = read_catalog_file(shipped_file(region))
    source_date = date.fromisoformat(str(data["source_date"]))
    found = PriceCatalog.objects.filter(
        region=data["region"], source=data["source"], source_date=source_date
    ).first()
    if found is not None:
        return found
    return store_catalog(
        region=data["region"],
        source=data["source"],
        source_date=source_date,
        assumptions={
            "hours_per_month": data.get("hours_per_month", 730),
            **(data.get("assumptions") or {}),
        },
        rows=catalog_rows(data),
        currency=data.get("currency", "USD"),
    )


def current_catalog(region: str) -> PriceCatalog | None:
    """The newest catalog of the region, else of the default pricing region."""
    for wanted in dict.fromkeys([region, setting("IDP_PRICING_REGION")]):
        found = PriceCatalog.objects.filter(region=wanted).order_by("-source_date", "-pk").first()
        if found is not None:
            return found
    return None


@dataclass
class Prices:
    """One catalog version in memory."""

    catalog: PriceCatalog
    table: dict[tuple[str, str, str], Decimal]
    types: set[str]

    @classmethod
    def of(cls, catalog: PriceCatalog) -> Prices:
        table = {
            (p.resource_type, p.component, p.variant): p.usd
            for p in Price.objects.filter(catalog=catalog)
        }
        return cls(catalog=catalog, table=table, types={key[0] for key in table})

    @property
    def hours(self) -> Decimal:
        return Decimal(str(self.catalog.assumptions.get("hours_per_month", 730)))

    def assumption(self, name: str) -> Decimal:
        return Decimal(str(self.catalog.assumptions.get(name, 0)))

    def get(self, rtype: str, component: str, variant: str = "") -> Decimal:
        price = self.table.get((rtype, component, variant))
        if price is None:
            what = f"{component} {variant}".strip()
            raise Unpriced(f"no price for {what} in the {self.catalog.region} catalog")
        return price


# --- pricing one resource ------------------------------------------------------------


@dataclass
class PlanContext:
    """What a pricer may look at besides the resource: the plan's variables and its other
    resources (a launch template priced in its Auto Scaling group)."""

    prices: Prices
    variables: dict[str, Any] = field(default_factory=dict)
    by_type: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def usage(self, assumption: str, variable: str = "") -> tuple[Decimal, str]:
        """A usage figure: the plan's variable when it sets one, else the catalog's
        assumption; with the words saying which."""
        if variable and self.variables.get(variable) not in (None, ""):
            try:
                return Decimal(str(self.variables[variable])), f"`{variable}`"
            except ArithmeticError:
                pass
        return self.prices.assumption(assumption), "assumed"


Priced = tuple[Decimal, str]
Pricer = Callable[[str, dict[str, Any], PlanContext], Priced]


def _num(values: dict[str, Any], name: str, default: Any = None) -> Decimal:
    raw = values.get(name, default)
    if raw is None:
        raise Unpriced(f"`{name}` is not known until apply")
    try:
        return Decimal(str(raw))
    except ArithmeticError:
        raise Unpriced(f"`{name}` is not a number") from None


def _first(values: dict[str, Any], name: str) -> dict[str, Any]:
    block = values.get(name)
    return block[0] if isinstance(block, list) and block and isinstance(block[0], dict) else {}


def _usd(value: Decimal) -> str:
    return f"${value.normalize():f}"


def _db_instance(rtype: str, v: dict[str, Any], ctx: PlanContext) -> Priced:
    p = ctx.prices
    cls = v.get("instance_class")
    if not cls:
        raise Unpriced("`instance_class` is not known until apply")
    hourly = p.get(rtype, "instance_hour", cls)
    storage_type = v.get("storage_type") or "gp2"
    size = _num(v, "allocated_storage", 0)
    per_gb = p.get(rtype, "storage_gb_month", storage_type)
    copies = 2 if v.get("multi_az") else 1
    monthly = (hourly * p.hours + size * per_gb) * copies
    az = "Multi-AZ (× 2)" if copies == 2 else "Single-AZ"
    basis = (
        f"{cls} {_usd(hourly)}/h × {p.hours} h + {size} GB {storage_type} × {_usd(per_gb)}, {az}"
    )
    return monthly, basis


def _volume(ctx: PlanContext, size: Decimal, kind: str) -> Priced:
    per_gb = ctx.prices.get("aws_ebs_volume", "storage_gb_month", kind)
    return size * per_gb, f"{size} GB {kind} × {_usd(per_gb)}"


def _instance_month(ctx: PlanContext, itype: str) -> Priced:
    hourly = ctx.prices.get("aws_instance", "instance_hour", itype)
    return hourly * ctx.prices.hours, f"{itype} {_usd(hourly)}/h × {ctx.prices.hours} h"


def _instance(rtype: str, v: dict[str, Any], ctx: PlanContext) -> Priced:
    itype = v.get("instance_type")
    if not itype:
        raise Unpriced("`instance_type` is not known until apply")
    monthly, basis = _instance_month(ctx, itype)
    root = _first(v, "root_block_device")
    if root.get("volume_size"):
        disk, words = _volume(ctx, _num(root, "volume_size"), root.get("volume_type") or "gp3")
        monthly, basis = monthly + disk, f"{basis} + {words}"
    return monthly, basis


def _ebs_volume(rtype: str, v: dict[str, Any], ctx: PlanContext) -> Priced:
    return _volume(ctx, _num(v, "size"), v.get("type") or "gp3")


def _launch_template(ctx: PlanContext, name: str | None = None) -> dict[str, Any]:
    """The plan's launch template (by name when several)."""
    templates = ctx.by_type.get("aws_launch_template", [])
    if name:
        named = [t for t in templates if name in (t.get("name"), t.get("id"))]
        templates = named or templates
    return templates[0] if len(templates) == 1 else {}


def _template_node(ctx: PlanContext, template: dict[str, Any], itype: str | None) -> Priced:
    """One node launched from a launch template: the instance and its root volume."""
    itype = itype or template.get("instance_type")
    if not itype:
        raise Unpriced("no instance type (its launch template is not in the plan)")
    monthly, basis = _instance_month(ctx, itype)
    ebs = _first(_first(template, "block_device_mappings"), "ebs")
    if ebs.get("volume_size"):
        disk, words = _volume(ctx, _num(ebs, "volume_size"), ebs.get("volume_type") or "gp3")
        monthly, basis = monthly + disk, f"{basis} + {words}"
    return monthly, basis


def _autoscaling_group(rtype: str, v: dict[str, Any], ctx: PlanContext) -> Priced:
    count = _num(v, "desired_capacity", v.get("min_size"))
    spec = _first(v, "launch_template")
    node, basis = _template_node(ctx, _launch_template(ctx, spec.get("name")), None)
    return count * node, f"{count} × ({basis})"


def _eks_node_group(rtype: str, v: dict[str, Any], ctx: PlanContext) -> Priced:
    count = _num(_first(v, "scaling_config"), "desired_size")
    types = v.get("instance_types") or []
    spec = _first(v, "launch_template")
    template = _launch_template(ctx, spec.get("name")) if spec else {}
    node, basis = _template_node(ctx, template, types[0] if types else None)
    if not template.get("block_device_mappings") and v.get("disk_size"):
        disk, words = _volume(ctx, _num(v, "disk_size"), "gp3")
        node, basis = node + disk, f"{basis} + {words}"
    monthly = count * node
    if v.get("capacity_type") == "SPOT":
        discount = ctx.prices.assumption("spot_discount")
        monthly *= 1 - discount
        basis += f", SPOT assumed {discount * 100:.0f} % below on-demand"
    return monthly, f"{count} × ({basis})"


def _hourly(component: str, words: str) -> Pricer:
    def price(rtype: str, v: dict[str, Any], ctx: PlanContext) -> Priced:
        hourly = ctx.prices.get(rtype, component)
        return hourly * ctx.prices.hours, f"{words} {_usd(hourly)}/h × {ctx.prices.hours} h"

    return price


def _lambda(rtype: str, v: dict[str, Any], ctx: PlanContext) -> Priced:
    memory = _num(v, "memory_size", 128)
    invocations, said = ctx.usage("lambda_invocations_millions", "expected_invocations_millions")
    duration = ctx.prices.assumption("lambda_duration_ms")
    gb_s = memory / 1024 * duration / 1000 * invocations * 1_000_000
    per_gb_s = ctx.prices.get(rtype, "gb_second")
    per_million = ctx.prices.get(rtype, "requests_million")
    monthly = gb_s * per_gb_s + invocations * per_million
    basis = (
        f"{memory} MB × {duration} ms assumed × {invocations} M invocations ({said}) "
        f"× {_usd(per_gb_s)}/GB-s + {_usd(per_million)}/M requests"
    )
    return monthly, basis


def _dynamodb(rtype: str, v: dict[str, Any], ctx: PlanContext) -> Priced:
    p = ctx.prices
    storage = p.assumption("dynamodb_storage_gb")
    per_gb = p.get(rtype, "storage_gb_month")
    if (v.get("billing_mode") or "PROVISIONED") == "PROVISIONED":
        rcu, wcu = _num(v, "read_capacity", 0), _num(v, "write_capacity", 0)
        r_price = p.get(rtype, "read_capacity_unit_hour")
        w_price = p.get(rtype, "write_capacity_unit_hour")
        monthly = (rcu * r_price + wcu * w_price) * p.hours
        basis = f"provisioned {rcu} RCU × {_usd(r_price)}/h + {wcu} WCU × {_usd(w_price)}/h"
    else:
        reads = p.assumption("dynamodb_reads_millions")
        writes = p.assumption("dynamodb_writes_millions")
        r_price = p.get(rtype, "read_request_million")
        w_price = p.get(rtype, "write_request_million")
        monthly = reads * r_price + writes * w_price
        basis = (
            f"on demand, assumed {reads} M reads × {_usd(r_price)} + {writes} M writes "
            f"× {_usd(w_price)}"
        )
    return monthly + storage * per_gb, f"{basis} + {storage} GB assumed × {_usd(per_gb)}"


def _nat_gateway(rtype: str, v: dict[str, Any], ctx: PlanContext) -> Priced:
    hourly = ctx.prices.get(rtype, "gateway_hour")
    per_gb = ctx.prices.get(rtype, "processed_gb")
    gb = ctx.prices.assumption("nat_processed_gb")
    monthly = hourly * ctx.prices.hours + gb * per_gb
    basis = f"{_usd(hourly)}/h × {ctx.prices.hours} h + {gb} GB processed assumed × {_usd(per_gb)}"
    return monthly, basis


def _load_balancer(rtype: str, v: dict[str, Any], ctx: PlanContext) -> Priced:
    kind = v.get("load_balancer_type") or "application"
    if kind not in ("application", "network"):
        raise Unpriced(f"no price for a {kind} load balancer")
    hourly = ctx.prices.get("aws_lb", f"{kind}_hour")
    per_unit = ctx.prices.get("aws_lb", "capacity_unit_hour", kind)
    units = ctx.prices.assumption("load_balancer_capacity_units")
    monthly = (hourly + units * per_unit) * ctx.prices.hours
    basis = (
        f"{kind} {_usd(hourly)}/h + {units} capacity unit assumed × {_usd(per_unit)}/h, "
        f"× {ctx.prices.hours} h"
    )
    return monthly, basis


def _per_unit(component: str, assumption: str, variable: str, unit: str) -> Pricer:
    def price(rtype: str, v: dict[str, Any], ctx: PlanContext) -> Priced:
        amount, said = ctx.usage(assumption, variable)
        rate = ctx.prices.get(rtype, component)
        return amount * rate, f"{amount} {unit} ({said}) × {_usd(rate)}"

    return price


def _kms_key(rtype: str, v: dict[str, Any], ctx: PlanContext) -> Priced:
    rate = ctx.prices.get(rtype, "key_month")
    return rate, f"1 key × {_usd(rate)}/month"


PRICERS: dict[str, Pricer] = {
    "aws_db_instance": _db_instance,
    "aws_instance": _instance,
    "aws_ebs_volume": _ebs_volume,
    "aws_autoscaling_group": _autoscaling_group,
    "aws_eks_node_group": _eks_node_group,
    "aws_eks_cluster": _hourly("cluster_hour", "control plane"),
    "aws_eip": _hourly("public_ipv4_hour", "public IPv4 address"),
    "aws_lambda_function": _lambda,
    "aws_dynamodb_table": _dynamodb,
    "aws_nat_gateway": _nat_gateway,
    "aws_lb": _load_balancer,
    "aws_alb": _load_balancer,
    "aws_s3_bucket": _per_unit(
        "storage_gb_month", "s3_storage_gb", "expected_storage_gb", "GB-month"
    ),
    "aws_ecr_repository": _per_unit(
        "storage_gb_month", "ecr_storage_gb", "expected_storage_gb", "GB-month"
    ),
    "aws_sqs_queue": _per_unit(
        "requests_million", "sqs_requests_millions", "expected_requests_millions", "M requests"
    ),
    "aws_sns_topic": _per_unit("publishes_million", "sns_publishes_millions", "", "M publishes"),
    "aws_cloudwatch_log_group": _per_unit("ingestion_gb", "log_ingestion_gb", "", "GB ingested"),
    "aws_kms_key": _kms_key,
}


# Types priced with another type's prices.
PRICED_AS = {
    "aws_autoscaling_group": "aws_instance",
    "aws_eks_node_group": "aws_instance",
    "aws_alb": "aws_lb",
}


def price_resource(rtype: str, values: dict[str, Any], ctx: PlanContext) -> Priced:
    """The monthly list price of one resource's values and how it was priced."""
    if (rtype, NO_CHARGE, "") in ctx.prices.table:
        return Decimal("0"), "no charge"
    pricer = PRICERS.get(rtype)
    if pricer is None or PRICED_AS.get(rtype, rtype) not in ctx.prices.types:
        raise Unpriced("the price catalog has no price for this type")
    return pricer(rtype, values, ctx)


# --- pricing a plan ------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _managed_changes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's managed resource changes; a plan that changes nothing (refresh-only)
    prices what its prior state holds, before and after alike."""
    changes = [
        c for c in plan.get("resource_changes") or [] if c.get("mode", "managed") == "managed"
    ]
    if changes:
        return changes
    found = []
    stack = [((plan.get("prior_state") or {}).get("values") or {}).get("root_module") or {}]
    while stack:
        module = stack.pop()
        stack.extend(module.get("child_modules") or [])
        for r in module.get("resources") or []:
            if r.get("mode", "managed") == "managed":
                values = r.get("values") or {}
                found.append(
                    {
                        "address": r.get("address"),
                        "type": r.get("type"),
                        "change": {"actions": ["no-op"], "before": values, "after": values},
                    }
                )
    return found


def plan_cost(
    plan: dict[str, Any],
    prices: Prices,
    *,
    region: str,
    extras: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`{monthly_before, monthly_after, delta, currency, lines, unpriced, catalog}` of a
    plan (`terraform show -json`): each managed resource priced before and after its change.
    `extras`: lines that are not resources ({address, type, monthly, basis}), added after."""
    changes = _managed_changes(plan)
    variables = {
        name: (spec or {}).get("value") for name, spec in (plan.get("variables") or {}).items()
    }
    by_type: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        after = (change.get("change") or {}).get("after") or (change.get("change") or {}).get(
            "before"
        )
        if isinstance(after, dict):
            by_type.setdefault(str(change.get("type")), []).append(after)
    ctx = PlanContext(prices=prices, variables=variables, by_type=by_type)
    lines: list[dict[str, Any]] = []
    unpriced: list[dict[str, Any]] = []
    before_total = after_total = Decimal("0")
    for change in changes:
        rtype, address = str(change.get("type")), str(change.get("address"))
        body = change.get("change") or {}
        actions = list(body.get("actions") or [])
        sides: dict[str, Decimal] = {}
        basis = ""
        try:
            for side in ("before", "after"):
                values = body.get(side)
                if isinstance(values, dict):
                    sides[side], words = price_resource(rtype, values, ctx)
                    basis = words if side == "after" or not basis else basis
        except Unpriced as exc:
            unpriced.append({"address": address, "type": rtype, "reason": str(exc)})
            continue
        before = sides.get("before", Decimal("0")).quantize(CENT)
        after = sides.get("after", Decimal("0")).quantize(CENT)
        before_total += before
        after_total += after
        lines.append(
            {
                "address": address,
                "type": rtype,
                "action": "-".join(actions) or "no-op",
                "monthly": _money(after),
                "monthly_before": _money(before),
                "delta": _money(after - before),
                "basis": basis,
            }
        )
    for extra in extras or []:
        amount = Decimal(str(extra["monthly"])).quantize(CENT)
        after_total += amount
        lines.append(
            {
                "action": "extra",
                "monthly_before": "0.00",
                **extra,
                "monthly": _money(amount),
                "delta": _money(amount),
            }
        )
    catalog = prices.catalog
    return {
        "monthly_before": _money(before_total),
        "monthly_after": _money(after_total),
        "delta": _money(after_total - before_total),
        "currency": catalog.currency,
        "lines": lines,
        "unpriced": unpriced,
        "catalog": {
            "id": catalog.pk,
            "region": catalog.region,
            "source": catalog.source,
            "source_date": catalog.source_date.isoformat(),
            "priced_for_region": region,
        },
    }


def price_plan(plan: dict[str, Any], region: str, **kwargs: Any) -> dict[str, Any] | None:
    """A plan's cost from the current catalog of the region; None when there is none."""
    catalog = current_catalog(region)
    if catalog is None:
        return None
    return plan_cost(plan, Prices.of(catalog), region=region, **kwargs)


# --- pricing a request before it has a plan ------------------------------------------

_VAR = re.compile(r"^\$\{var\.([A-Za-z0-9_]+)\}$")
# `${var.a == "X" ? <expr> : <expr>}` with each <expr> a variable, a literal or null.
_CHOICE = re.compile(
    r'^\$\{var\.([A-Za-z0-9_]+)\s*(==|!=)\s*"([^"]*)"\s*\?\s*(.+?)\s*:\s*(.+?)\s*\}$'
)
_UNKNOWN = object()


def _term(text: str, values: dict[str, Any]) -> Any:
    text = text.strip()
    if text == "null":
        return None
    if text.startswith("var."):
        return values.get(text[4:], _UNKNOWN)
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    try:
        return Decimal(text)
    except ArithmeticError:
        return _UNKNOWN


def _resolve(value: Any, values: dict[str, Any]) -> Any:
    """An HCL attribute value with the request's parameters put in where it is a plain
    variable (or a choice on one); anything else is unknown until a plan."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "__is_block__":
                continue
            resolved = _resolve(item, values)
            if resolved is not _UNKNOWN:
                out[key] = resolved
        return out
    if isinstance(value, list):
        items = [_resolve(item, values) for item in value]
        return _UNKNOWN if any(i is _UNKNOWN for i in items) else items
    if not isinstance(value, str) or "${" not in value:
        return value
    match = _VAR.match(value)
    if match:
        return values.get(match.group(1), _UNKNOWN)
    match = _CHOICE.match(value)
    if match:
        name, op, literal, yes, no = match.groups()
        if name not in values:
            return _UNKNOWN
        holds = (str(values[name]) == literal) == (op == "==")
        return _term(yes if holds else no, values)
    return _UNKNOWN


def request_plan(files: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    """A plan-shaped document of what a module would create with these parameters: each
    `resource` block of its `.tf` files with the attributes that are plain variables (or a
    choice on one) filled in; `count` repeats a block when it is known."""
    import hcl2
    from hcl2.utils import SerializationOptions

    options = SerializationOptions(
        with_comments=False, strip_string_quotes=True, preserve_heredocs=False
    )
    changes = []
    for name in sorted(files):
        if not name.endswith(".tf") or "/" in name:
            continue
        try:
            parsed = hcl2.loads(files[name], serialization_options=options)
        except Exception:  # noqa: BLE001, S112 - the registry reports bad HCL
            continue
        for block in parsed.get("resource") or []:
            for rtype, named in block.items():
                for rname, body in named.items():
                    after = _resolve(body, values)
                    count = after.pop("count", 1) if isinstance(after, dict) else 1
                    try:
                        copies = int(count) if count is not None else 0
                    except (TypeError, ValueError):
                        copies = 1
                    for index in range(copies):
                        suffix = f"[{index}]" if "count" in body else ""
                        changes.append(
                            {
                                "address": f"{rtype}.{rname}{suffix}",
                                "mode": "managed",
                                "type": rtype,
                                "name": rname,
                                "change": {"actions": ["create"], "before": None, "after": after},
                            }
                        )
    return {
        "variables": {k: {"value": v} for k, v in values.items()},
        "resource_changes": changes,
    }
