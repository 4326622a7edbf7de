"""The API base: /me, team list scoping, environments, OpenAPI schema and docs."""

from __future__ import annotations

from idp import services
from tests.utils import assert_ok


def test_me_lists_teams_with_roles(by_role, api_as, platform_admin, teams):
    user = by_role["maintainer"]
    services.add_member(teams["search"], user.username, "viewer")
    body = assert_ok(api_as(user).get("/api/v1/me/"))
    assert body["user"]["username"] == "maintainer-user" and body["is_platform_admin"] is False
    assert {(t["slug"], t["role"]) for t in body["teams"]} == {
        ("payments", "maintainer"),
        ("search", "viewer"),
    }
    assert assert_ok(api_as(platform_admin).get("/api/v1/me/"))["is_platform_admin"] is True


def test_team_list_is_scoped_and_searchable(alice, carol, api_as):
    body = assert_ok(api_as(alice).get("/api/v1/teams/"))
    assert [t["slug"] for t in body["results"]] == ["payments"]
    assert body["results"][0]["url"].endswith("/api/v1/teams/payments/")
    assert assert_ok(api_as(alice).get("/api/v1/teams/?search=sea"))["count"] == 0


def test_session_auth_works_for_the_api(alice, client_as):
    body = client_as(alice).get("/api/v1/me/").json()
    assert body["user"]["username"] == "alice"


def test_schema_and_docs(client, alice, client_as):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/me/",
        "/api/v1/teams/",
        "/api/v1/teams/{slug}/",
        "/api/v1/teams/{slug}/members/",
        "/api/v1/audit/",
        "/api/v1/tokens/",
        "/api/v1/auth/token/",
    ):
        assert path in paths, path
    assert "bearerAuth" in schema.json()["components"]["securitySchemes"]
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()  # assets are vendored
