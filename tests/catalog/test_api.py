"""The catalog API: templates (read-only) and services (CRUD with team RBAC)."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from catalog.models import Service, Template
from catalog.software.services.components import create_service
from idp.models import AuditEvent

from ..utils import assert_error, assert_ok


def test_template_list_filter_and_search(synced: Any, api_as: Any, alice: Any) -> None:
    api = api_as(alice)
    body = assert_ok(api.get("/api/v1/templates/"))
    slugs = [t["slug"] for t in body["results"]]
    assert "s3-bucket" in slugs and body["count"] >= 10
    first = next(t for t in body["results"] if t["slug"] == "s3-bucket")
    assert first["current_version"] == 1 and first["version_label"] == "v1"
    assert first["owner"] == "platform"
    messaging = assert_ok(api.get("/api/v1/templates/", {"category": "messaging"}))
    assert {t["slug"] for t in messaging["results"]} == {"sqs-queue", "sns-topic"}
    found = assert_ok(api.get("/api/v1/templates/", {"search": "dead-letter"}))
    assert [t["slug"] for t in found["results"]] == ["sqs-queue"]


def test_template_detail_serves_valid_json_schemas(synced: Any, api_as: Any, alice: Any) -> None:
    api = api_as(alice)
    for template in Template.objects.all():
        body = assert_ok(api.get(f"/api/v1/templates/{template.slug}/"))
        Draft202012Validator.check_schema(body["parameters_schema"])
        assert body["outputs"] and body["versions"][0]["number"] == 1
        assert {"approval_policy", "cost_hints", "readme"} <= set(body)
    body = assert_ok(api.get("/api/v1/templates/example-config/"))
    secret = body["parameters_schema"]["properties"]["secret_token"]
    assert secret["writeOnly"] is True and secret["x-sensitive"] is True
    assert "idp_team" not in body["parameters_schema"]["properties"]


def test_template_version_detail(synced: Any, api_as: Any, alice: Any) -> None:
    api = api_as(alice)
    body = assert_ok(api.get("/api/v1/templates/sqs-queue/versions/1/"))
    assert body["template"] == "sqs-queue" and body["number"] == 1
    assert "main.tf" in body["files"] and len(body["content_hash"]) == 64
    assert_error(api.get("/api/v1/templates/sqs-queue/versions/7/"), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/templates/../../etc/passwd/",
        "/api/v1/templates/..%2F..%2Fetc/",
        "/api/v1/templates/%2e%2e/versions/1/",
        "/api/v1/templates/S3-BUCKET/",
    ],
)
def test_path_tricks_in_slugs_are_not_found(
    synced: Any, api_as: Any, alice: Any, path: str
) -> None:
    response = api_as(alice).get(path)
    assert response.status_code == 404


def test_validate_endpoint_errors_by_parameter(synced: Any, api_as: Any, alice: Any) -> None:
    api = api_as(alice)
    bad = api.post(
        "/api/v1/templates/example-config/validate/",
        {"parameters": {"replicas": 0, "secret_token": "short"}},
        format="json",
    )
    body = assert_error(bad, 400, "parameters.replicas")
    assert "parameters.secret_token" in body["detail"] and "short" not in bad.content.decode()
    good = assert_ok(
        api.post(
            "/api/v1/templates/example-config/validate/",
            {"parameters": {"secret_token": "long-enough"}},
            format="json",
        )
    )
    assert good["parameters"]["replicas"] == 1 and good["parameters"]["secret_token"] == "********"
    assert_error(
        api.post(
            "/api/v1/templates/example-config/validate/",
            {"version": 5, "parameters": {}},
            format="json",
        ),
        400,
        "version",
    )


def test_deprecated_templates_hidden_from_list_and_refused(
    synced: Any, api_as: Any, alice: Any
) -> None:
    Template.objects.filter(slug="vpc").update(deprecated=True)
    api = api_as(alice)
    assert "vpc" not in [t["slug"] for t in assert_ok(api.get("/api/v1/templates/"))["results"]]
    listed = assert_ok(api.get("/api/v1/templates/", {"deprecated": "true"}))["results"]
    assert [t["slug"] for t in listed] == ["vpc"]
    assert_error(
        api.post("/api/v1/templates/vpc/validate/", {"parameters": {}}, format="json"),
        400,
        "template",
    )


def test_templates_need_authentication(synced: Any, client: Any) -> None:
    assert client.get("/api/v1/templates/").status_code in (401, 403)


# --- Services --------------------------------------------------------------------------------


@pytest.fixture
def payments_api(teams: Any) -> Service:
    return create_service(
        actor=None,
        team=teams["payments"],
        name="Payments API",
        repository_url="https://github.com/example/payments-api",
    )


def test_maintainer_creates_updates_and_archives(teams: Any, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    created = assert_ok(
        api.post(
            "/api/v1/services/",
            {
                "name": "Refunds worker",
                "team": "payments",
                "lifecycle": "production",
                "tier": 1,
                "links": [{"title": "Runbook", "url": "https://wiki.example.com/refunds"}],
                "tags": ["python", "queue"],
            },
            format="json",
        ),
        201,
    )
    assert created["slug"] == "refunds-worker" and created["team"] == "payments"
    updated = assert_ok(
        api.patch(
            "/api/v1/services/refunds-worker/", {"description": "Pays money back"}, format="json"
        )
    )
    assert updated["description"] == "Pays money back"
    assert_ok(api.delete("/api/v1/services/refunds-worker/"), 204)
    assert Service.objects.get(slug="refunds-worker").archived
    assert [
        e.action for e in AuditEvent.objects.filter(target_type="catalog.service").order_by("id")
    ] == ["service.created", "service.updated", "service.archived"]
    listed = assert_ok(api.get("/api/v1/services/"))
    assert listed["count"] == 0
    archived = assert_ok(api.get("/api/v1/services/", {"archived": "true"}))
    assert [s["slug"] for s in archived["results"]] == ["refunds-worker"]


def test_member_sees_but_cannot_change(payments_api: Service, alice: Any, api_as: Any) -> None:
    api = api_as(alice)
    assert assert_ok(api.get("/api/v1/services/payments-api/"))["name"] == "Payments API"
    assert_error(api.patch("/api/v1/services/payments-api/", {"name": "x"}, format="json"), 403)
    assert_error(api.delete("/api/v1/services/payments-api/"), 403)
    assert_error(api.post("/api/v1/services/payments-api/archive/"), 403)
    assert_error(
        api.post("/api/v1/services/", {"name": "New", "team": "payments"}, format="json"), 403
    )
    assert not Service.objects.get(slug="payments-api").archived


def test_other_teams_services_are_not_found(payments_api: Service, carol: Any, api_as: Any) -> None:
    api = api_as(carol)
    assert_error(api.get("/api/v1/services/payments-api/"), 404)
    assert_error(api.patch("/api/v1/services/payments-api/", {"name": "x"}, format="json"), 404)
    assert assert_ok(api.get("/api/v1/services/"))["count"] == 0
    # Creating in a team you cannot see reads as an unknown team.
    assert_error(
        api.post("/api/v1/services/", {"name": "Sneaky", "team": "payments"}, format="json"),
        400,
        "team",
    )


def test_service_bad_input(payments_api: Service, bob: Any, api_as: Any) -> None:
    api = api_as(bob)
    assert_error(
        api.post("/api/v1/services/", {"name": "Payments API", "team": "payments"}, format="json"),
        409,
        "slug",
    )
    assert_error(
        api.post(
            "/api/v1/services/",
            {"name": "X", "team": "payments", "lifecycle": "immortal"},
            format="json",
        ),
        400,
        "lifecycle",
    )
    assert_error(
        api.post(
            "/api/v1/services/",
            {"name": "Y", "team": "payments", "links": [{"url": "javascript:alert(1)"}]},
            format="json",
        ),
        400,
        "links",
    )
    assert_error(
        api.post(
            "/api/v1/services/", {"name": "Z", "slug": "../z", "team": "payments"}, format="json"
        ),
        400,
        "slug",
    )
    assert Service.objects.count() == 1


def test_service_filters_and_ordering(teams: Any, platform_admin: Any, api_as: Any) -> None:
    for i, (team, lifecycle) in enumerate(
        [("payments", "production"), ("payments", "experimental"), ("search", "production")]
    ):
        create_service(actor=None, team=teams[team], name=f"svc {i}", lifecycle=lifecycle)
    api = api_as(platform_admin)
    body = assert_ok(api.get("/api/v1/services/", {"team": "payments", "lifecycle": "production"}))
    assert [s["slug"] for s in body["results"]] == ["svc-0"]
    body = assert_ok(api.get("/api/v1/services/", {"ordering": "-slug", "search": "svc"}))
    assert [s["slug"] for s in body["results"]] == ["svc-2", "svc-1", "svc-0"]


def test_openapi_schema_documents_catalog_endpoints(db: None, client: Any) -> None:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/templates/{slug}/" in paths
    assert "/api/v1/templates/{slug}/versions/{number}/" in paths
    assert "404" in paths["/api/v1/services/{slug}/"]["patch"]["responses"]
