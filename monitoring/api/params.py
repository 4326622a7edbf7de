"""Query parameters of the monitoring API, parsed to typed values or a 400 naming the field
(empty or repeated included: the schema types one value)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.request import Request

from idp.api.fields import query_value
from idp.models import Team
from idp.services import ServiceError

# Costs and samples exist only in this span; outside it date arithmetic (the day after, the
# month's end, a UTC offset) could leave what Python's dates can hold.
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)
SPAN = f"between {EARLIEST.isoformat()} and {LATEST.isoformat()}"
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MONTH = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})")
MAX_ID = 2**63 - 1


def visible_team(user: Any, slug: Any, field: str = "team") -> Team:
    """The team named `slug` if the user may see it; another team's reads as unknown."""
    slug = str(slug)
    team = Team.objects.for_user(user).filter(slug=slug).first()
    if team is None:
        raise ServiceError(f"Unknown team {slug[:100]!r}.", field=field)
    return team


def team_param(request: Request, *, required: bool = False) -> Team | None:
    """The `team` query parameter: a team of yours, else 400 (unknown or not yours alike)."""
    slug = request.query_params.get("team")
    if not slug:
        if required:
            raise ServiceError("Give a team.", field="team")
        return None
    return visible_team(request.user, slug)


def date_param(request: Request, field: str) -> date | None:
    """A YYYY-MM-DD date within the span the platform keeps."""
    value = query_value(request, field)
    if value is None:
        return None
    try:
        # Python reads 20240131 and 2024-W05-3 too; the schema's `date` is YYYY-MM-DD only.
        day = date.fromisoformat(value) if ISO_DAY.fullmatch(value) else None
    except ValueError:
        day = None
    if day is None:
        raise ServiceError("Use a date YYYY-MM-DD.", field=field)
    if not EARLIEST <= day <= LATEST:
        raise ServiceError(f"Use a date {SPAN}.", field=field)
    return day


def month_param(request: Request, field: str = "month") -> date | None:
    """A YYYY-MM month (its first day) within the span the platform keeps."""
    value = query_value(request, field)
    if value is None:
        return None
    match = MONTH.fullmatch(value)
    try:
        first = date(int(match["year"]), int(match["month"]), 1) if match else None
    except ValueError:
        first = None
    if first is None:
        raise ServiceError("Use a month YYYY-MM.", field=field)
    if not EARLIEST <= first <= LATEST:
        raise ServiceError(f"Use a month {SPAN}.", field=field)
    return first


def datetime_param(request: Request, field: str) -> datetime | None:
    """An ISO date-time within the span the platform keeps; without an offset it is UTC."""
    value = query_value(request, field)
    if value is None:
        return None
    try:
        when = parse_datetime(value)
    except ValueError:
        when = None
    if when is None:
        raise ServiceError("Use an ISO date-time.", field=field)
    # Checked before any conversion: a UTC offset at either end of the calendar overflows.
    if not EARLIEST.year <= when.year <= LATEST.year:
        raise ServiceError(f"Use a date-time {SPAN}.", field=field)
    if timezone.is_naive(when):
        when = timezone.make_aware(when, UTC)
    return when


def id_param(request: Request, field: str) -> int | None:
    """A positive database id."""
    value = query_value(request, field)
    if value is None:
        return None
    digits = value.isascii() and value.isdigit() and len(value) <= len(str(MAX_ID))
    if not digits or not 0 < int(value) <= MAX_ID:
        raise ServiceError("Give a positive whole number.", field=field)
    return int(value)
