"""GET /api/v1/resources/ and /api/v1/runs/: visibility, filters, search, paging, query counts."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from provisioning.choices import ResourceStatus, RunKind, RunStatus
from tests.utils import assert_error, assert_ok


def _names(body: dict) -> set[str]:
    return {r["name"] for r in body["results"]}


def test_list_shows_only_my_teams_resources(api_as, alice, carol, teams, make_resource):
    make_resource(teams["payments"], "pay-db")
    make_resource(teams["search"], "search-index")
    assert _names(assert_ok(api_as(alice).get("/api/v1/resources/"))) == {"pay-db"}
    assert _names(assert_ok(api_as(carol).get("/api/v1/resources/"))) == {"search-index"}


def test_platform_admin_sees_every_team(api_as, platform_admin, teams, make_resource):
    make_resource(teams["payments"], "pay-db")
    make_resource(teams["search"], "search-index")
    body = assert_ok(api_as(platform_admin).get("/api/v1/resources/"))
    assert _names(body) == {"pay-db", "search-index"}


def test_list_filters_by_slugs_status_and_search(
    api_as, platform_admin, teams, envs, make_resource, make_service
):
    checkout = make_service(teams["payments"], "checkout")
    make_resource(teams["payments"], "a-dev", service=checkout)
    make_resource(
        teams["payments"], "a-prod", environment=envs["prod"], status=ResourceStatus.FAILED
    )
    make_resource(teams["search"], "b-dev")
    api = api_as(platform_admin)
    assert _names(assert_ok(api.get("/api/v1/resources/?team=payments"))) == {"a-dev", "a-prod"}
    assert _names(assert_ok(api.get("/api/v1/resources/?environment=prod"))) == {"a-prod"}
    assert _names(assert_ok(api.get("/api/v1/resources/?service=checkout"))) == {"a-dev"}
    assert _names(assert_ok(api.get("/api/v1/resources/?status=failed"))) == {"a-prod"}
    both = api.get("/api/v1/resources/?status=failed&status=provisioned")
    assert _names(assert_ok(both)) == {"a-dev", "a-prod", "b-dev"}
    assert len(_names(assert_ok(api.get("/api/v1/resources/?template=example-config")))) == 3
    assert _names(assert_ok(api.get("/api/v1/resources/?template=nope"))) == set()
    assert _names(assert_ok(api.get("/api/v1/resources/?search=b-d"))) == {"b-dev"}
    ordered = assert_ok(api.get("/api/v1/resources/?ordering=name"))
    assert [r["name"] for r in ordered["results"]] == ["a-dev", "a-prod", "b-dev"]
    assert_error(api.get("/api/v1/resources/?status=bogus"), 400, "status")


def test_list_row_shape(api_as, alice, teams, make_resource):
    make_resource(teams["payments"], "pay-db")
    row = assert_ok(api_as(alice).get("/api/v1/resources/"))["results"][0]
    assert row["team"] == "payments"
    assert row["environment"] == "dev"
    assert row["template"] == "example-config"
    assert row["version"] == 1
    assert row["status"] == "provisioned"
    assert row["url"].endswith(f"/api/v1/resources/{row['id']}/")
    # Lists carry no parameters or outputs, sensitive or not.
    assert "parameters" not in row and "outputs" not in row and "sensitive_parameters" not in row


def test_resource_list_queries_do_not_grow_with_rows(api_as, platform_admin, teams, make_resource):
    api = api_as(platform_admin)
    for i in range(5):
        make_resource(teams["payments" if i % 2 else "search"], f"r-{i}")
    api.get("/api/v1/resources/")  # warm the token's last-used touch
    with CaptureQueriesContext(connection) as few:
        assert_ok(api.get("/api/v1/resources/?page_size=500"))
    for i in range(5, 200):
        make_resource(teams["payments" if i % 2 else "search"], f"r-{i}")
    with CaptureQueriesContext(connection) as many:
        body = assert_ok(api.get("/api/v1/resources/?page_size=500"))
    assert body["count"] == 200 and len(body["results"]) == 200
    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)


def test_run_list_filters_and_no_plan_bytes(api_as, alice, carol, teams, make_resource, make_run):
    mine = make_resource(teams["payments"], "pay-db")
    other = make_resource(teams["search"], "search-index")
    plan = make_run(mine, plan_file=b"\x00secret-plan-bytes", plan_summary={"add": ["a.b"]})
    make_run(mine, kind=RunKind.APPLY, status=RunStatus.FAILED, error="boom", plan_run=plan)
    theirs = make_run(other)
    api = api_as(alice)
    body = assert_ok(api.get("/api/v1/runs/"))
    assert {r["resource"] for r in body["results"]} == {mine.pk}
    assert [r["kind"] for r in assert_ok(api.get("/api/v1/runs/?kind=apply"))["results"]] == [
        "apply"
    ]
    failed = assert_ok(api.get("/api/v1/runs/?status=failed"))["results"]
    assert [r["error"] for r in failed] == ["boom"]
    assert assert_ok(api.get(f"/api/v1/runs/?resource={other.pk}"))["results"] == []
    detail = assert_ok(api.get(f"/api/v1/runs/{plan.pk}/"))
    assert detail["plan_counts"] == {"add": 1, "change": 0, "destroy": 0}
    assert "plan_file" not in detail
    assert b"secret-plan-bytes" not in api.get(f"/api/v1/runs/{plan.pk}/").content
    assert_error(api.get(f"/api/v1/runs/{theirs.pk}/"), 404)


def test_other_teams_resource_and_run_are_404(api_as, alice, teams, make_resource, make_run):
    theirs = make_resource(teams["search"], "search-index")
    run = make_run(theirs)
    api = api_as(alice)
    assert_error(api.get(f"/api/v1/resources/{theirs.pk}/"), 404)
    assert_error(api.post(f"/api/v1/resources/{theirs.pk}/approve/", {}), 404)
    assert_error(api.delete(f"/api/v1/resources/{theirs.pk}/"), 404)
    assert_error(api.patch(f"/api/v1/resources/{theirs.pk}/", {"parameters": {}}), 404)
    assert_error(api.get(f"/api/v1/runs/{run.pk}/log/"), 404)
    assert_error(api.post(f"/api/v1/runs/{run.pk}/cancel/"), 404)


def test_anonymous_is_401(client, teams, make_resource):
    make_resource(teams["search"], "search-index")
    assert_error(client.get("/api/v1/resources/"), 401)


def test_run_list_queries_do_not_grow_with_rows(
    api_as, platform_admin, alice, teams, make_resource, make_run
):
    api = api_as(platform_admin)
    resource = make_resource(teams["payments"], "cfg")
    for _ in range(3):
        make_run(resource, created_by=alice)
    api.get("/api/v1/runs/")
    with CaptureQueriesContext(connection) as few:
        assert_ok(api.get("/api/v1/runs/?page_size=500"))
    for i in range(60):
        make_run(make_resource(teams["search"], f"s-{i}"), created_by=alice)
    with CaptureQueriesContext(connection) as many:
        assert assert_ok(api.get("/api/v1/runs/?page_size=500"))["count"] == 63
    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)


def test_list_rows_match_the_generic_serializer(
    api_as, alice, teams, envs, make_resource, make_service
):
    """The hand-built list rows give exactly what DRF's field-by-field serializer gives."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone
    from rest_framework.test import APIRequestFactory

    from provisioning.api.serializers import ResourceSerializer
    from provisioning.models import Resource

    checkout = make_service(teams["payments"], "checkout")
    full = make_resource(
        teams["payments"],
        "full",
        service=checkout,
        requested_by=alice,
        estimated_monthly_cost=Decimal("12.50"),
        expires_at=timezone.now() + timedelta(days=3),
        provisioned_at=timezone.now(),
        drifted=True,
    )
    bare = make_resource(teams["payments"], "bare", estimated_monthly_cost=None)
    rows = {r["name"]: r for r in assert_ok(api_as(alice).get("/api/v1/resources/"))["results"]}
    request = APIRequestFactory().get("/api/v1/resources/")
    for resource in (full, bare):
        generic = ResourceSerializer(
            Resource.objects.get(pk=resource.pk), context={"request": request}
        ).data
        assert rows[resource.name] == dict(generic)
    assert rows["full"]["service"] == "checkout" and rows["full"]["requested_by"] == "alice"
    assert rows["full"]["estimated_monthly_cost"] == "12.50"
    assert rows["bare"]["service"] is None and rows["bare"]["estimated_monthly_cost"] is None
    assert rows["bare"]["url"].endswith(f"/api/v1/resources/{bare.pk}/")


def test_large_counts_are_reused_for_a_minute_small_ones_are_exact(
    api_as, platform_admin, teams, make_resource, monkeypatch
):
    import idp.paginator

    monkeypatch.setattr(idp.paginator, "EXACT_COUNT_LIMIT", 2)
    api = api_as(platform_admin)
    make_resource(teams["payments"], "one")
    assert assert_ok(api.get("/api/v1/resources/"))["count"] == 1
    make_resource(teams["payments"], "two")
    assert assert_ok(api.get("/api/v1/resources/"))["count"] == 2  # still exact
    make_resource(teams["payments"], "three")
    assert assert_ok(api.get("/api/v1/resources/"))["count"] == 3  # counted, then kept
    make_resource(teams["search"], "four")
    body = assert_ok(api.get("/api/v1/resources/"))
    assert body["count"] == 3 and len(body["results"]) == 4  # the rows are never stale
    # Paging follows the rows, not the minute-old total: page 3 of 3 links to a page 4.
    second = assert_ok(api.get("/api/v1/resources/?page_size=1&page=3"))
    assert second["next"] and second["next"].endswith("page=4&page_size=1")
    assert [r["name"] for r in assert_ok(api.get(second["next"]))["results"]] == ["one"]
    assert_error(api.get("/api/v1/resources/?page_size=1&page=5"), 404)
    # Another query (a filter) is its own count.
    assert assert_ok(api.get("/api/v1/resources/?team=search"))["count"] == 1
    from django.core.cache import cache

    cache.clear()
    assert assert_ok(api.get("/api/v1/resources/"))["count"] == 4


def test_long_lists_are_counted_in_full_when_the_cache_is_down(
    api_as, platform_admin, teams, make_resource, monkeypatch, settings
):
    import idp.paginator

    monkeypatch.setattr(idp.paginator, "EXACT_COUNT_LIMIT", 1)
    settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"IGNORE_EXCEPTIONS": True},  # as config/settings/base.py configures it
        }
    }
    for name in ("one", "two", "three"):
        make_resource(teams["payments"], name)
    # The rate limit and the count both fall back; the answer is whole.
    assert assert_ok(api_as(platform_admin).get("/api/v1/resources/"))["count"] == 3


def test_list_rows_load_every_column_the_list_serializer_shows():
    # The access function's column list is written out (it sits below the API): a column
    # the serializer gains must be added there, or each row would load it on its own.
    from provisioning.access import LIST_COLUMNS
    from provisioning.api.serializers import ResourceListSerializer
    from provisioning.models import Resource

    plain = {f.name for f in Resource._meta.concrete_fields if not f.is_relation}
    shown = [name for name in ResourceListSerializer.Meta.fields if name in plain]
    assert shown == list(LIST_COLUMNS[: len(shown)])
