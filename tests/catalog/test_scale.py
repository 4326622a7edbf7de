"""10,000 services and 50 templates: list pages and API lists cost a constant number of queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Service, Template, TemplateVersion
from idp.models import Team

SCHEMA = {"type": "object", "properties": {"x": {"type": "string", "description": "x"}}}


@pytest.fixture
def big_catalog(teams: dict[str, Team]) -> None:
    services = [
        Service(
            team=teams["payments" if i % 2 else "search"],
            name=f"Service {i:05d}",
            slug=f"service-{i:05d}",
            lifecycle="production" if i % 3 else "experimental",
        )
        for i in range(10_000)
    ]
    Service.objects.bulk_create(services, batch_size=2000)
    templates = Template.objects.bulk_create(
        Template(
            slug=f"tmpl-{i:02d}",
            title=f"Template {i:02d}",
            category=f"cat-{i % 5}",
            owner_team=teams["payments"],
        )
        for i in range(50)
    )
    versions = TemplateVersion.objects.bulk_create(
        TemplateVersion(
            template=t,
            number=1,
            content_hash=f"{i:064d}",
            parameters_schema=SCHEMA,
            files={"main.tf": "# big " * 1000},
            metadata={"version": "1.0"},
        )
        for i, t in enumerate(templates)
    )
    for template, version in zip(templates, versions, strict=True):
        template.current_version = version
    Template.objects.bulk_update(templates, ["current_version"])


def _queries(client: Any, url: str, params: dict[str, Any]) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries), response


PORTAL_CASES = [
    ("/catalog/services/", {}, 5000),
    ("/catalog/services/", {"team": "payments", "lifecycle": "production", "q": "service"}, 3333),
    ("/catalog/", {}, 50),
    ("/catalog/", {"category": "cat-1", "q": "Template"}, 10),
]
API_CASES = [
    ("/api/v1/services/", {}, 10_000),
    (
        "/api/v1/services/",
        {"team": "payments", "lifecycle": "production", "ordering": "-name"},
        3333,
    ),
    ("/api/v1/templates/", {}, 50),
    ("/api/v1/templates/", {"category": "cat-2", "search": "Template"}, 10),
]


# One dataset per test (bulk-creating 10,000 rows is the slow part), every list checked on it.
def test_portal_lists_constant_queries(
    big_catalog: None, client_as: Any, alice: Any, django_assert_max_num_queries: Any
) -> None:
    client = client_as(alice)
    for url, params, count in PORTAL_CASES:
        client.get(url, params)  # warm the per-process caches (content types, session)
        first, response = _queries(client, url, {**params, "page": 1})
        later, _ = _queries(client, url, {**params, "page": 2 if count > 24 else 1})
        assert first == later, f"{url} {params}: query count grows with the page"
        with django_assert_max_num_queries(12):
            client.get(url, {**params, "page": 3})
        page = response.context["page_obj"]
        assert page.paginator.count == count, (url, params)
        if url == "/catalog/services/":
            # alice sees only the payments half of the 10,000.
            assert all(s.team.slug == "payments" for s in page)


def test_api_lists_constant_queries(
    big_catalog: None, api_as: Any, platform_admin: Any, django_assert_max_num_queries: Any
) -> None:
    api = api_as(platform_admin)
    for url, params, count in API_CASES:
        api.get(url, params)  # warm the per-process caches (content types, token touch)
        first, response = _queries(api, url, {**params, "page": 1})
        later, _ = _queries(api, url, {**params, "page": 2} if count > 50 else params)
        assert first == later, f"{url} {params}: query count grows with the page"
        with django_assert_max_num_queries(8):
            api.get(url, params)
        assert response.json()["count"] == count, (url, params)


def test_list_filters_use_indexes() -> None:
    indexed = {tuple(index.fields) for index in Service._meta.indexes}
    assert ("archived", "slug") in indexed and ("team", "lifecycle") in indexed
    assert Service._meta.get_field("lifecycle").db_index
    assert Template._meta.get_field("category").db_index
