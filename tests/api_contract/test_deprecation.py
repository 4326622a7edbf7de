"""How /api/v1/ announces a removal (docs/api.md): Deprecation, Sunset and Link headers on
the operation's answers, `deprecated: true` in the schema, the changelog, and the CLI's
warning. Nothing in v1 is deprecated yet, so each test declares one for a real operation."""

from __future__ import annotations

import calendar
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from idp import services
from idp.api import deprecation
from idp.api.deprecation import Deprecation
from tests.helpers import bearer

pytestmark = pytest.mark.django_db

ME = "idp.api.views.MeView.get"
RUN = "provisioning.api.views.RunViewSet.retrieve"
REAL = list(deprecation.DEPRECATIONS)  # before any test replaces them


@pytest.fixture
def deprecated(monkeypatch: pytest.MonkeyPatch) -> list[Deprecation]:
    entries = [
        Deprecation(
            operation=ME,
            announced=date(2027, 1, 4),
            sunset=date(2027, 7, 5),
            successor="/api/v1/teams/",
            note="Your teams are listed there.",
        ),
        Deprecation(
            operation=RUN,
            field="plan_counts",
            announced=date(2027, 2, 1),
            sunset=date(2027, 9, 1),
            successor="plan_summary",
            note="The counts are the lengths of plan_summary's lists.",
        ),
    ]
    monkeypatch.setattr(deprecation, "DEPRECATIONS", entries)
    return entries


def test_a_deprecated_operation_answers_with_deprecation_sunset_and_links(
    deprecated: list[Deprecation], alice: Any
) -> None:
    api = bearer(services.create_api_token(alice, name="t")[1])
    answer = api.get("/api/v1/me/")

    assert answer.status_code == 200
    assert answer["Deprecation"] == f"@{calendar.timegm(date(2027, 1, 4).timetuple())}"
    sunset = parsedate_to_datetime(answer["Sunset"])
    assert (sunset.date(), sunset.hour, sunset.minute) == (date(2027, 7, 5), 23, 59)
    assert '</api/v1/teams/>; rel="successor-version"' in answer["Link"]
    assert '/api/v1/changelog/>; rel="deprecation"' in answer["Link"]
    # An operation nobody deprecated carries none of them.
    teams = api.get("/api/v1/teams/")
    assert teams.status_code == 200
    assert not {"Deprecation", "Sunset", "Link"} & set(teams.headers)


def test_the_schema_marks_the_operation_and_the_field_deprecated(
    deprecated: list[Deprecation], client: Any
) -> None:
    schema = client.get("/api/schema/?format=json").json()

    me = schema["paths"]["/api/v1/me/"]["get"]
    assert me["deprecated"] is True
    assert "may be removed after 2027-07-05" in me["description"]
    plan_counts = schema["components"]["schemas"]["RunDetail"]["properties"]["plan_counts"]
    assert plan_counts["deprecated"] is True
    assert "use plan_summary" in plan_counts["description"]
    assert "deprecated" not in schema["paths"]["/api/v1/teams/"]["get"]


def test_the_changelog_lists_each_deprecation(deprecated: list[Deprecation], alice: Any) -> None:
    body = bearer(services.create_api_token(alice, name="t")[1]).get("/api/v1/changelog/").json()

    assert body["version"] == "v1"
    assert [(d["operation"], d["field"], d["sunset"]) for d in body["deprecations"]] == [
        (ME, "", "2027-07-05"),
        (RUN, "plan_counts", "2027-09-01"),
    ]


def test_declared_deprecations_name_real_operations_and_give_notice(
    deprecated: list[Deprecation],
) -> None:
    """The registry is checked against the schema: the real one (empty today), the examples
    above, and entries that are wrong in each way."""
    fields = deprecation.answer_fields()
    assert fields[RUN] >= {"plan_counts", "plan_summary", "status"}
    assert deprecation.problems(REAL, fields) == []
    assert deprecation.problems(deprecated, fields) == []

    wrong = [
        Deprecation("idp.api.views.Nothing.get", date(2027, 1, 1), date(2027, 9, 1), "x", ""),
        Deprecation(RUN, date(2027, 1, 1), date(2027, 9, 1), "x", "", field="no_such"),
        Deprecation(ME, date(2027, 1, 1), date(2027, 3, 1), "/api/v1/teams/", ""),
    ]
    assert deprecation.problems(wrong, fields) == [
        "idp.api.views.Nothing.get: no such operation",
        f"{RUN}: its answer has no field no_such",
        f"{ME}: sunset less than 180 days away",
    ]
