"""Issue 16's "done when", through the surfaces people use: bob imports a multi-document
catalog-info.yaml over the API (a System, two Components, one providing an OpenAPI API the
other consumes, and a Resource); the graph shows them, the export answers in Backstage's
format, the entity pages render, and the scorecard page shows each service's level with
the rules it misses and links to fix them."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from catalog.software.services.components import create_service
from tests.utils import assert_ok

from .entity_docs import SHOP

pytestmark = pytest.mark.django_db


def test_import_graph_export_pages_and_scorecards(
    bob: Any, alice: Any, teams: dict[str, Any], api_as: Any, client_as: Any
) -> None:
    report = assert_ok(
        api_as(bob).post(
            "/api/v1/catalog/import/", {"content": SHOP, "dry_run": False}, format="json"
        ),
        201,
    )
    assert sorted(report["created"]) == [
        "api:default/orders-api",
        "component:default/checkout",
        "component:default/orders",
        "resource:default/orders-db",
        "system:default/shop",
    ]

    # The graph of the system shows its parts; the consumer is linked to the API.
    portal = client_as(alice)
    graph = portal.get("/catalog/entities/system/default/shop/graph.json").json()
    node_ids = {element["data"]["id"] for element in graph["elements"]["nodes"]}
    assert {
        "system:default/shop",
        "component:default/orders",
        "component:default/checkout",
        "api:default/orders-api",
        "resource:default/orders-db",
    } <= node_ids
    api_graph = portal.get("/catalog/entities/api/default/orders-api/graph.json").json()
    edges = {(e["data"]["source"], e["data"]["target"]) for e in api_graph["elements"]["edges"]}
    assert ("component:default/checkout", "api:default/orders-api") in edges
    assert ("component:default/orders", "api:default/orders-api") in edges

    # The export, in Backstage's format.
    exported = assert_ok(api_as(alice).get("/api/v1/catalog/entities/component/default/checkout"))
    assert exported["apiVersion"] == "backstage.io/v1alpha1"
    assert exported["kind"] == "Component"
    assert {"type": "consumesApi", "targetRef": "api:default/orders-api"} in exported["relations"]

    # The pages: the API's definition renders with Swagger UI.
    page = portal.get("/catalog/entities/api/default/orders-api/").content.decode()
    assert "swagger-ui" in page.lower()

    # Scorecards: a service of payments, its level and what it misses, with fix links.
    call_command("sync_scorecard_rules")
    service = create_service(actor=bob, team=teams["payments"], name="Orders", slug="orders")
    scorecard = portal.get(f"/catalog/scorecards/services/{service.slug}/")
    text = scorecard.content.decode()
    assert scorecard.status_code == 200
    # alice and bob make two members (bronze's first rule passes); a new service's lifecycle
    # is still the default, so bronze is missed, and the page says how to fix it.
    assert "Owner team has at least two members" in text and "Lifecycle is set" in text
    assert 'class="fix-link"' in text
    edit = reverse("catalog:service_edit", args=[service.slug])
    assert f'href="{edit}"' in text
    overview = portal.get("/catalog/scorecards/").content.decode()
    assert "Orders" in overview
