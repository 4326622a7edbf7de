"""Input the schema refuses is refused, and rules the views hold are in the schema.

DRF coerced JSON types (a number into a string, 0/1 into a boolean, "5" into an integer) and
django-filter read a bad filter value as "no filter"; schemathesis found both as "schema-
violating request accepted". The other way round, views required what the schema left out
(PATCH bodies, slug and lifetime patterns, a budget's amount). Each case here is one of those,
through the API; the live contract run (live_contract) covers every operation.
"""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from idp import services
from idp.choices import Role
from idp.models import Team
from tests.utils import assert_error


@pytest.fixture
def admin(make_user: Any, teams: dict[str, Team]) -> Any:
    user = make_user("padmin")
    services.set_platform_admin(user, True)
    services.set_membership(teams["payments"], user, Role.ADMIN)
    return user


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


# --- JSON types are held --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/api/v1/teams/", {"slug": "t1", "description": 0}, "description"),
        ("post", "/api/v1/teams/", {"slug": 5}, "slug"),
        ("patch", "/api/v1/teams/payments/", {"description": 1.5}, "description"),
        ("patch", "/api/v1/teams/payments/", {"name": True}, "name"),
        (
            "post",
            "/api/v1/teams/payments/service-accounts/",
            {"name": "ci", "description": 0},
            "description",
        ),
        (
            "post",
            "/api/v1/services/",
            {"name": "svc", "team": "payments", "tags": ["a", 1]},
            "tags",
        ),
        ("post", "/api/v1/services/", {"name": "svc", "team": "payments", "tier": "1"}, "tier"),
        ("post", "/api/v1/services/", {"name": "svc", "team": 7}, "team"),
        (
            "post",
            "/api/v1/services/",
            {"name": "svc", "team": "payments", "links": [{"url": 5}]},
            "links",
        ),
        ("post", "/api/v1/tokens/", {"name": 12}, "name"),
        ("post", "/api/v1/tokens/", {"scopes": ["read", 1]}, "scopes"),
        ("post", "/api/v1/catalog/import/", {"content": "x", "dry_run": 1}, "dry_run"),
    ],
)
def test_a_json_value_of_another_type_is_a_400_naming_the_field(
    api_as: Any, admin: Any, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    response = getattr(api_as(admin), method)(path, body, format="json")
    detail = assert_error(response, 400, field)["detail"]
    assert "Must be" in str(detail[field])
    if field == "tags":
        assert detail["tags"] == {"1": ["Must be a string, not a number."]}


def test_enabled_zero_is_no_false(api_as: Any, admin: Any) -> None:
    client = api_as(admin)
    url = "/api/v1/teams/payments/service-accounts/"
    assert client.post(url, {"name": "ci"}, format="json").status_code == 201
    response = client.patch(f"{url}ci/", {"enabled": 0}, format="json")
    assert assert_error(response, 400, "enabled")["detail"]["enabled"] == [
        "Must be true or false, not a number."
    ]
    assert client.get(f"{url}ci/").json()["enabled"] is True


def test_form_bodies_keep_their_text_values(api_as: Any, admin: Any) -> None:
    """Form-encoded bodies hold text only: "true" and "5" stay DRF's to parse."""
    response = api_as(admin).post(
        "/api/v1/teams/payments/service-accounts/", {"name": "forms", "description": "d"}
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("version", [1, "1"])
def test_a_version_is_a_number_or_a_label(
    api_as: Any, admin: Any, version: Any, schema: dict[str, Any]
) -> None:
    """Clients send `"version": 1`; the schema says so (oneOf integer/string)."""
    from catalog.services import sync_templates

    services.upsert_environment("dev", name="Dev")
    assert sync_templates().ok
    body = {
        "template": "example-config",
        "version": version,
        "team": "payments",
        "environment": "dev",
        "name": f"v{version}",
        "parameters": {"message": "hi"},
    }
    response = api_as(admin).post("/api/v1/resources/", body, format="json")
    assert response.status_code == 201, response.content
    field = schema["components"]["schemas"]["ResourceCreateRequest"]["properties"]["version"]
    assert {"type": "integer", "minimum": 1} in field["oneOf"]


# --- query parameters are held ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/resources/", {"drifted": "null"}, "drifted"),
        ("/api/v1/resources/", {"drifted": "1"}, "drifted"),
        ("/api/v1/resources/", {"archived": ""}, "archived"),
        ("/api/v1/resources/", {"status": ""}, "status"),
        ("/api/v1/resources/", {"team": ["a", "b"]}, "team"),
        ("/api/v1/templates/", {"deprecated": "yes"}, "deprecated"),
        ("/api/v1/services/", {"tier": "0.5"}, "tier"),
        ("/api/v1/services/", {"tier": "-58800"}, "tier"),
        ("/api/v1/services/", {"lifecycle": ""}, "lifecycle"),
        ("/api/v1/audit/", {"until": ""}, "until"),
        ("/api/v1/runs/", {"resource": ""}, "resource"),
        ("/api/v1/pipelines/", {"delivery_state": "lost"}, "delivery_state"),
        ("/api/v1/pipelines/", {"delivery_state": ""}, "delivery_state"),
        ("/api/v1/alarm-events/", {"open": "null"}, "open"),
        ("/api/v1/alarm-events/", {"state": ""}, "state"),
        ("/api/v1/costs/", {"start": ""}, "start"),
        ("/api/v1/costs/", {"start": "20260101"}, "start"),
        ("/api/v1/costs/", {"month": ["2026-01", "2026-02"]}, "month"),
        ("/api/v1/metrics/", {"since": ""}, "since"),
        ("/api/v1/teams/", {"page": ""}, "page"),
        ("/api/v1/teams/", {"page": ["1", "2"]}, "page"),
        ("/api/v1/teams/", {"page_size": ["1", "2"]}, "page_size"),
    ],
)
def test_a_query_value_the_schema_refuses_is_a_400_naming_it(
    api_as: Any, admin: Any, path: str, params: dict[str, Any], field: str
) -> None:
    assert_error(api_as(admin).get(path, params), 400, field)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/resources/", {"drifted": "true", "archived": "false", "team": ""}),
        ("/api/v1/resources/", {"status": ["pending", "failed"]}),
        ("/api/v1/services/", {"tier": "1", "archived": "false"}),
        ("/api/v1/alarm-events/", {"open": "true", "state": "ALARM"}),
        ("/api/v1/costs/", {"start": "2026-01-01", "end": "2026-01-31"}),
        ("/api/v1/alerts/", {"period": "2026-1"}),
    ],
)
def test_good_query_values_still_filter(
    api_as: Any, admin: Any, path: str, params: dict[str, Any]
) -> None:
    response = api_as(admin).get(path, params)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("params", "field"), [({"offset": str(2**63)}, "offset"), ({"limit": ""}, "limit")]
)
def test_a_log_offset_past_the_documented_maximum_is_a_400(
    api_as: Any,
    admin: Any,
    make_run: Any,
    schema: dict[str, Any],
    params: dict[str, str],
    field: str,
) -> None:
    run = make_run("plan", "succeeded", seconds=1)
    assert_error(api_as(admin).get(f"/api/v1/runs/{run.pk}/log/", params), 400, field)
    parameters = schema["paths"]["/api/v1/runs/{id}/log/"]["get"]["parameters"]
    offset = next(p for p in parameters if p["name"] == "offset")
    assert offset["schema"]["maximum"] == 2**63 - 1


def test_int_query_refuses_past_its_range_and_odd_spellings() -> None:
    from rest_framework.exceptions import ValidationError
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from idp.api.fields import int_query

    def ask(value: str) -> int:
        request = Request(APIRequestFactory().get("/", {"offset": value}))
        return int_query(request, "offset", default=0, minimum=0)

    assert ask("5") == 5
    for bad in (str(2**63), "-1", "5_0", "٣", " 5", ""):
        with pytest.raises(ValidationError):
            ask(bad)


# --- what the views require is in the schema ----------------------------------------------


@pytest.mark.parametrize(
    ("component", "field"),
    [("ParametersRequest", "parameters"), ("MembershipRoleRequest", "role")],
)
def test_patch_bodies_document_the_fields_their_view_requires(
    schema: dict[str, Any], component: str, field: str
) -> None:
    assert field in schema["components"]["schemas"][component]["required"]
    assert f"Patched{component}" not in schema["components"]["schemas"]


def test_patch_without_the_required_field_is_the_documented_400(
    api_as: Any, admin: Any, make_user: Any, teams: dict[str, Team]
) -> None:
    make_user("dora", team=teams["payments"])
    response = api_as(admin).patch("/api/v1/teams/payments/members/dora/", {}, format="json")
    assert_error(response, 400, "role")


@pytest.mark.parametrize(
    ("component", "field", "good", "bad"),
    [
        ("TeamCreateRequest", "slug", "a-1", "A_1"),
        ("ResourceCreateRequest", "name", "web-1", "web-"),
        ("ServiceAccountCreateRequest", "name", "ci", "c" * 41),
        ("ServiceRequest", "slug", "svc", "Svc"),
        ("APITokenCreateRequest", "expires_in", "30d", "0"),
        ("ServiceAccountTokenCreateRequest", "expires_in", "12h", "000000000"),
        ("WorkloadBindingWriteRequest", "repository", "acme/web", "acme"),
        ("TemplateSourceCreateRequest", "url", "https://git.example.com/a.git", "a.git"),
        ("LocationCreateRequest", "target", "/srv/catalog", "srv/catalog"),
    ],
)
def test_patterns_the_views_hold_are_in_the_schema(
    schema: dict[str, Any], component: str, field: str, good: str, bad: str
) -> None:
    import re

    pattern = schema["components"]["schemas"][component]["properties"][field]["pattern"]
    assert re.search(pattern, good)
    assert not re.search(pattern, bad)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Web_1", "team": "payments", "slug": "web_1"}, "slug"),
        ({"name": "x", "team": "payments", "slug": "ok\n"}, "slug"),
    ],
)
def test_a_slug_off_the_pattern_is_refused_by_the_pattern(
    api_as: Any, admin: Any, body: dict[str, Any], field: str
) -> None:
    assert_error(api_as(admin).post("/api/v1/services/", body, format="json"), 400, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"team": "payments", "monthly_amount": {"": None}}, "monthly_amount"),
        ({"team": "payments", "monthly_amount": "1e3"}, "monthly_amount"),
        ({"team": "payments", "monthly_amount": True}, "monthly_amount"),
        ({"monthly_amount": 100}, "team"),
        (
            {"team": "payments", "monthly_amount": 100, "thresholds": [{"percent": 0.5}]},
            "thresholds",
        ),
        ({"team": "payments", "monthly_amount": 100, "thresholds": [None]}, "thresholds"),
        ({"team": "payments", "monthly_amount": 100, "thresholds": []}, "thresholds"),
    ],
)
def test_a_budget_is_parsed_as_its_schema_says(
    api_as: Any, admin: Any, body: dict[str, Any], field: str
) -> None:
    assert_error(api_as(admin).post("/api/v1/budgets/", body, format="json"), 400, field)


def test_a_budget_amount_as_number_or_text(api_as: Any, admin: Any, schema: dict[str, Any]) -> None:
    client = api_as(admin)
    body = {"team": "payments", "monthly_amount": "500.5", "thresholds": [{"percent": 80.0}]}
    created = client.post("/api/v1/budgets/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["monthly_amount"] == "500.50"
    assert created.json()["thresholds"] == [{"percent": 80, "kind": "actual"}]
    changed = client.patch(f"/api/v1/budgets/{created.json()['id']}/", {"monthly_amount": 7})
    assert changed.status_code == 200 and changed.json()["monthly_amount"] == "7.00"
    amount = schema["components"]["schemas"]["BudgetCreateRequest"]["properties"]["monthly_amount"]
    assert [branch["type"] for branch in amount["oneOf"]] == ["number", "string"]


@pytest.mark.parametrize("scopes", [[], ["approve"]])
def test_service_account_token_scopes_are_an_enum(
    api_as: Any, admin: Any, scopes: list[str], schema: dict[str, Any]
) -> None:
    client = api_as(admin)
    client.post("/api/v1/teams/payments/service-accounts/", {"name": "ci"}, format="json")
    url = "/api/v1/teams/payments/service-accounts/ci/tokens/"
    assert_error(client.post(url, {"scopes": scopes}, format="json"), 400, "scopes")
    field = schema["components"]["schemas"]["ServiceAccountTokenCreateRequest"]["properties"]
    items = field["scopes"]["items"]
    if "$ref" in items:
        items = schema["components"]["schemas"][items["$ref"].rsplit("/", 1)[1]]
    assert items["enum"] == ["read", "write"]
    assert field["scopes"]["minItems"] == 1


@pytest.mark.parametrize(
    ("path", "component", "body", "field"),
    [
        (
            "/api/v1/auth/token/",
            "TokenObtainPairRequest",
            {"username": " ", "password": "x"},
            "username",
        ),
        ("/api/v1/auth/token/refresh/", "TokenRefreshRequest", {"refresh": " "}, "refresh"),
    ],
)
def test_blank_credentials_are_documented_as_bad_input(
    db: None, schema: dict[str, Any], path: str, component: str, body: dict[str, Any], field: str
) -> None:
    """simplejwt trims credentials, so spaces alone are "blank" (400): the schema says a value
    holds a non-space character."""
    import re

    from rest_framework.test import APIClient

    assert_error(APIClient().post(path, body, format="json"), 400, field)
    pattern = schema["components"]["schemas"][component]["properties"][field]["pattern"]
    assert not re.search(pattern, " \x1c") and re.search(pattern, " a ")
