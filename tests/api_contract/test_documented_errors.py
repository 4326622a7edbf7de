"""The error answers the contract suite once marked as known failures, each pinned by a test."""

from __future__ import annotations

from typing import Any

from idp import audit
from tests.utils import assert_error, assert_ok

from .test_openapi import schema


def _responses(method: str, path: str) -> dict[str, Any]:
    return schema.raw_schema["paths"][path][method]["responses"]


def test_a_platform_wide_audit_event_has_a_null_team(api_as, platform_admin):
    audit.record("environment.update", actor=platform_admin, details={"slug": "dev"})
    body = assert_ok(api_as(platform_admin).get("/api/v1/audit/?action=environment."))
    assert [event["team"] for event in body["results"]] == [None]
    team = schema.raw_schema["components"]["schemas"]["AuditEvent"]["properties"]["team"]
    assert team["nullable"] is True


def test_a_wrong_password_is_a_documented_401(client, alice):
    response = client.post(
        "/api/v1/auth/token/",
        {"username": alice.username, "password": "not-the-password"},
        content_type="application/json",
    )
    assert_error(response, 401)
    assert {"200", "400", "401"} <= set(_responses("post", "/api/v1/auth/token/"))
    assert not schema.raw_schema["paths"]["/api/v1/auth/token/"]["post"].get("security")


def test_missing_credentials_are_a_documented_400(client, db):
    response = client.post("/api/v1/auth/token/", {}, content_type="application/json")
    assert_error(response, 400, "username")


def test_a_bad_refresh_token_is_a_documented_401(client, db):
    response = client.post(
        "/api/v1/auth/token/refresh/", {"refresh": "not-a-jwt"}, content_type="application/json"
    )
    assert_error(response, 401)
    assert {"200", "400", "401"} <= set(_responses("post", "/api/v1/auth/token/refresh/"))


def test_environments_document_401_and_an_unknown_slug_404(client, api_as, alice):
    assert_error(client.get("/api/v1/environments/"), 401)
    assert_error(api_as(alice).get("/api/v1/environments/no-such-env/"), 404)
    assert "401" in _responses("get", "/api/v1/environments/")
    assert {"401", "404"} <= set(_responses("get", "/api/v1/environments/{slug}/"))


def test_an_audit_date_time_with_a_far_offset_is_read_in_utc(api_as, platform_admin):
    """PostgreSQL refuses offsets past ±15:59: the filter compares in UTC (once a 500)."""
    audit.record("environment.update", actor=platform_admin, details={"slug": "dev"})
    client = api_as(platform_admin)
    body = assert_ok(client.get("/api/v1/audit/?since=1216-12-25T18:51:56-18:11"))
    assert body["count"] >= 1
    assert_error(client.get("/api/v1/audit/?until=0001-01-01T00:00:00%2B14:00"), 400, "until")
