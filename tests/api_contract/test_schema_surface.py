"""Within v1 the API only grows: no operation, parameter or field disappears unless it was
deprecated first (docs/api.md). The surface is recorded in idp/api/surface-v1.json;
`python manage.py api_surface --write` records an addition."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from idp.api import surface


@pytest.fixture(scope="module")
def current() -> dict[str, Any]:
    return surface.surface(surface.current_schema())


def test_the_schema_keeps_everything_recorded_and_records_what_it_added(
    current: dict[str, Any],
) -> None:
    removed, unrecorded = surface.compare(surface.recorded(), current)

    assert removed == [], "removed without a deprecation (docs/api.md):\n" + "\n".join(removed)
    assert unrecorded == [], (
        "the API changed; if it only grew, record it with `python manage.py api_surface "
        "--write`:\n" + "\n".join(unrecorded)
    )


def test_removing_an_operation_parameter_or_field_is_caught(current: dict[str, Any]) -> None:
    now = copy.deepcopy(current)
    del now["operations"]["GET /api/v1/me/"]
    now["operations"]["GET /api/v1/resources/"]["parameters"].remove("query:team")
    now["schemas"]["RunDetail"]["fields"].remove("plan_counts")

    removed, unrecorded = surface.compare(current, now)

    assert removed == [
        "operation GET /api/v1/me/ is gone but was never deprecated",
        "GET /api/v1/resources/: parameter query:team is gone",
        "schema RunDetail: field plan_counts is gone but was never deprecated",
    ]
    assert "operation GET /api/v1/resources/" in unrecorded


def test_what_was_deprecated_may_go(current: dict[str, Any]) -> None:
    before = copy.deepcopy(current)
    before["operations"]["GET /api/v1/me/"]["deprecated"] = True
    before["schemas"]["RunDetail"]["deprecated"] = ["plan_counts"]
    now = copy.deepcopy(current)
    del now["operations"]["GET /api/v1/me/"]
    now["schemas"]["RunDetail"]["fields"].remove("plan_counts")

    removed, _ = surface.compare(before, now)

    assert removed == []


def test_an_addition_is_not_a_removal(current: dict[str, Any]) -> None:
    now = copy.deepcopy(current)
    now["operations"]["GET /api/v1/new-things/"] = {
        "deprecated": False,
        "parameters": [],
        "request": "",
        "answers": {"200": "NewThing"},
    }
    now["schemas"]["RunDetail"]["fields"].append("new_field")

    removed, unrecorded = surface.compare(current, now)

    assert removed == []
    assert unrecorded == ["operation GET /api/v1/new-things/", "schema RunDetail"]
