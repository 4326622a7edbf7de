"""The catalog portal's entities: search (ranked, as you type, by kind), an entity's page
(About card, relations, dangling references, service sections, API definitions), the graph's
JSON, and the one visibility rule (another team's resource mirrors answer 404)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.choices import EntityKind, RelationType
from catalog.models import Entity
from catalog.software.services import entity_queries as queries
from idp.models import Team
from pipelines.models import Pipeline

from .entity_support import CatalogMap, build_map, make_entity, mirror_resource, relate

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog_map(teams: dict[str, Team]) -> CatalogMap:
    return build_map(teams)


def page_url(entity: Any) -> str:
    return reverse(
        "catalog:entity_detail", args=[entity.kind.lower(), entity.namespace, entity.name]
    )


def graph_url(entity: Any, depth: int = 1) -> str:
    return (
        reverse("catalog:entity_graph", args=[entity.kind.lower(), entity.namespace, entity.name])
        + f"?depth={depth}"
    )


def result_refs(body: str) -> list[str]:
    return re.findall(r'data-entity="([^"]+)"', body)


# --- Search ---------------------------------------------------------------------------------


def test_search_ranks_exact_name_then_prefix_then_name_then_title_then_description_and_tags(
    alice: Any, teams: dict[str, Team]
) -> None:
    make_entity(EntityKind.COMPONENT, "shipping", description="Ships the orders.")
    make_entity(EntityKind.COMPONENT, "ledger", title="Orders ledger")
    make_entity(EntityKind.COMPONENT, "legacy-orders")
    make_entity(EntityKind.API, "orders-api")
    make_entity(EntityKind.COMPONENT, "orders")
    make_entity(EntityKind.COMPONENT, "audit", tags=["orders"])
    make_entity(EntityKind.COMPONENT, "unrelated", description="Nothing to see.")

    found = [e.ref for e in queries.search(alice, "Orders")]

    assert found == [
        "component:default/orders",  # exact name (any case)
        "api:default/orders-api",  # name prefix
        "component:default/legacy-orders",  # name
        "component:default/ledger",  # title
        "component:default/audit",  # tag …
        "component:default/shipping",  # … and description, by name
    ]
    # Every word must match somewhere; the limit holds.
    assert [e.ref for e in queries.search(alice, "orders ledger")] == ["component:default/ledger"]
    assert len(queries.search(alice, "orders", limit=2)) == 2
    assert queries.search(alice, "nothing-like-this") == []
    # An entity whose search_text was never filled is still found by its own fields.
    Entity.objects.create(kind=EntityKind.SYSTEM, name="bare", description="Holds ORDERS.")
    assert "system:default/bare" in [e.ref for e in queries.search(alice, "orders")]


def test_typing_asks_for_the_results_partial_and_the_address_follows(
    client_as: Any, alice: Any, catalog_map: CatalogMap
) -> None:
    client = client_as(alice)
    page = client.get(reverse("catalog:entity_list"))
    body = page.content.decode()
    assert page.status_code == 200
    # The search box asks for the partial as the user types (htmx), and works as a plain form.
    assert 'hx-trigger="keyup changed delay:200ms' in body
    assert f'hx-get="{reverse("catalog:entity_search")}"' in body
    assert 'id="entity-results"' in body

    partial = client.get(reverse("catalog:entity_search"), {"q": "ord"}, HTTP_HX_REQUEST="true")
    text = partial.content.decode()
    assert partial.status_code == 200
    assert "<html" not in text and "<nav" not in text  # just the results
    assert result_refs(text)[:2] == ["component:default/orders", "api:default/orders-api"]
    assert partial["HX-Replace-Url"] == reverse("catalog:entity_list") + "?q=ord"
    # The full page with the same query shows the same results (a reload, a shared link).
    full = client.get(reverse("catalog:entity_list"), {"q": "ord"}).content.decode()
    assert result_refs(full) == result_refs(text)
    empty = client.get(reverse("catalog:entity_search"), {"q": "zzz-nothing"}).content.decode()
    assert result_refs(empty) == [] and "No entity matches" in empty


def test_the_kind_filter_keeps_one_kind(
    client_as: Any, alice: Any, catalog_map: CatalogMap
) -> None:
    client = client_as(alice)
    apis = client.get(reverse("catalog:entity_search"), {"kind": "API"}).content.decode()
    assert result_refs(apis) == ["api:default/orders-api", "api:default/payments-graphql"]
    orders_apis = client.get(reverse("catalog:entity_search"), {"q": "orders", "kind": "api"})
    assert result_refs(orders_apis.content.decode()) == ["api:default/orders-api"]
    assert orders_apis["HX-Replace-Url"].endswith("?q=orders&kind=API")
    groups = client.get(reverse("catalog:entity_list"), {"kind": "group"}).content.decode()
    assert result_refs(groups) == ["group:default/payments", "group:default/search"]
    assert [e.kind for e in queries.search(alice, "", kind="Component")] == ["Component"] * 2
    assert queries.search(alice, "orders", kind="spaceship") == []


def test_another_teams_resource_is_absent_from_search_and_its_page_answers_404(
    client_as: Any, alice: Any, carol: Any, platform_admin: Any, catalog_map: CatalogMap
) -> None:
    # carol (search) does not see payments' database; alice does; the admin sees both.
    assert [e.name for e in queries.search(carol, "", kind="Resource")] == ["search-index"]
    assert [e.name for e in queries.search(alice, "", kind="Resource")] == ["orders-db"]
    assert {e.name for e in queries.search(platform_admin, "", kind="Resource")} == {
        "orders-db",
        "search-index",
    }
    assert queries.search(carol, "orders-db") == []
    listed = client_as(carol).get(reverse("catalog:entity_search"), {"q": "db"}).content.decode()
    assert "orders-db" not in listed

    client = client_as(carol)
    assert client.get(page_url(catalog_map.orders_db)).status_code == 404
    assert client.get(graph_url(catalog_map.orders_db)).status_code == 404
    assert client.get(page_url(catalog_map.search_index)).status_code == 200
    # Entities that are not resource mirrors are the shared map: readable by everyone.
    assert client.get(page_url(catalog_map.orders)).status_code == 200
    # Not there at all reads the same as not yours.
    missing = reverse("catalog:entity_detail", args=["resource", "default", "no-such-thing"])
    assert client.get(missing).status_code == 404
    unknown_kind = reverse("catalog:entity_detail", args=["spaceship", "default", "orders"])
    assert client.get(unknown_kind).status_code == 404


def test_signing_in_comes_first(client: Any, catalog_map: CatalogMap) -> None:
    for url in (
        reverse("catalog:entity_list"),
        reverse("catalog:entity_search"),
        page_url(catalog_map.orders),
        graph_url(catalog_map.orders),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


# --- The entity page ------------------------------------------------------------------------


def about_card(body: str) -> str:
    return body.split('id="about"', 1)[1].split("</section>", 1)[0]


def relations_card(body: str) -> str:
    return body.split('id="relations"', 1)[1].split("</section>", 1)[0]


def test_the_about_card_shows_what_the_descriptor_says_with_owner_and_system_linked(
    client_as: Any, alice: Any, carol: Any, catalog_map: CatalogMap, teams: dict[str, Team]
) -> None:
    body = client_as(alice).get(page_url(catalog_map.orders)).content.decode()
    about = about_card(body)
    assert "<h1>Orders service" in body and "component:default/orders" in body
    assert "Takes orders from the web shop." in about
    assert f'href="{page_url(catalog_map.payments)}">Payments team</a>' in about
    # alice is in payments: the team's page is linked too.
    assert f'href="{teams["payments"].get_absolute_url()}">team page</a>' in about
    assert f'href="{page_url(catalog_map.checkout)}">Checkout</a>' in about
    assert "production" in about and "<dd>service</dd>" in about
    assert ">python</a>" in about and ">checkout</a>" in about
    assert 'href="https://runbooks.example.com/orders"' in about
    assert "javascript:" not in body and "Sneaky" not in about  # only http(s)/mailto links
    assert "github.com/project-slug" in about and "acme/orders" in about

    # carol is not in payments: the owner's group page is linked, its team page is not.
    other = about_card(client_as(carol).get(page_url(catalog_map.orders)).content.decode())
    assert f'href="{page_url(catalog_map.payments)}"' in other
    assert teams["payments"].get_absolute_url() not in other


def test_relations_are_grouped_by_type_linked_and_dangling_ones_shown_as_such(
    client_as: Any, alice: Any, carol: Any, catalog_map: CatalogMap
) -> None:
    body = client_as(alice).get(page_url(catalog_map.orders)).content.decode()
    relations = relations_card(body)
    headings = re.findall(r'data-relation="(\w+)"', relations)
    assert headings == ["ownedBy", "partOf", "providesApi", "dependsOn"]
    depends = relations.split('data-relation="dependsOn"', 1)[1]
    assert f'href="{page_url(catalog_map.orders_db)}">orders-db</a>' in depends
    assert "<code>resource:default/legacy-queue</code>" in depends
    assert "not in the catalog" in depends
    assert "search-index" not in body  # search's resource: not alice's to see
    # carol sees her team's resource and not payments' one, on the same page.
    theirs = relations_card(client_as(carol).get(page_url(catalog_map.orders)).content.decode())
    assert "search-index" in theirs and "orders-db" not in theirs
    # The other side of each relation is stored and shown: the API names its provider.
    api = relations_card(client_as(carol).get(page_url(catalog_map.orders_api)).content.decode())
    assert re.findall(r'data-relation="(\w+)"', api) == [
        "ownedBy",
        "partOf",
        "apiProvidedBy",
        "apiConsumedBy",
    ]
    assert f'href="{page_url(catalog_map.billing)}">billing</a>' in api


def test_problems_and_a_dangling_owner_are_shown(client_as: Any, alice: Any) -> None:
    stray = make_entity(
        EntityKind.COMPONENT,
        "stray",
        owner_ref="group:default/nobody",
        problems=["owner group:default/nobody is not a known team"],
    )
    relate(stray, RelationType.OWNED_BY, "group:default/nobody")
    body = client_as(alice).get(page_url(stray)).content.decode()
    assert "owner group:default/nobody is not a known team" in body
    about = about_card(body)
    assert "<code>group:default/nobody</code>" in about and "not in the catalog" in about


def test_a_component_of_a_service_shows_its_resources_and_pipelines_to_its_team(
    client_as: Any, alice: Any, carol: Any, catalog_map: CatalogMap
) -> None:
    Pipeline.objects.create(
        service=catalog_map.service,
        slug="deliver",
        template="python",
        environments=["dev", "prod"],
        workflow_name="Deliver",
        workflow_path=".github/workflows/deliver.yml",
        repository="acme/orders",
    )
    client = client_as(alice)
    body = client.get(page_url(catalog_map.orders)).content.decode()
    resources_url = reverse("provisioning:service_resources", args=["orders"])
    assert f'hx-get="{resources_url}"' in body
    assert ">deliver</a>" in body and "dev → prod" in body
    assert 'href="/catalog/services/orders/"' in body
    partial = client.get(resources_url)
    assert partial.status_code == 200 and "service-resources" in partial.content.decode()
    # carol is not in payments: the shared map, not the team's resources and pipelines.
    other = client_as(carol).get(page_url(catalog_map.orders)).content.decode()
    assert resources_url not in other and "deliver" not in other


def test_an_openapi_definition_is_handed_to_swagger_ui_and_others_are_highlighted_text(
    client_as: Any, carol: Any, catalog_map: CatalogMap
) -> None:
    client = client_as(carol)
    body = client.get(page_url(catalog_map.orders_api)).content.decode()
    assert 'id="swagger-ui"' in body
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in body
    document = body.split('id="api-definition" type="application/json">', 1)[1]
    assert '"title": "Orders API"' in document.split("</script>", 1)[0]

    graphql = client.get(page_url(catalog_map.payments_graphql)).content.decode()
    definition = graphql.split('id="definition"', 1)[1].split("</section>", 1)[0]
    assert 'data-api-type="graphql"' in graphql and 'id="swagger-ui"' not in graphql
    assert "<span" in definition  # highlighted by Pygments
    assert "Query" in definition and "Payment" in definition
    assert '<script>alert("not run")' not in definition  # escaped
    assert "alert" in html.unescape(re.sub(r"<[^>]+>", "", definition))
    # Line numbers beside the text.
    numbers = re.findall(r">\s*(\d+)\s*</span>", definition.split('class="code"')[0])
    assert numbers == [str(n) for n in range(1, 10)]  # nine lines, no extra one

    broken = make_entity(
        EntityKind.API, "broken-api", spec={"type": "openapi", "definition": "openapi: [3\n"}
    )
    page = client.get(page_url(broken)).content.decode()
    assert "not valid YAML or JSON" in page and 'id="swagger-ui"' not in page


# --- The graph ------------------------------------------------------------------------------


def graph(client: Any, entity: Any, depth: int = 1) -> dict[str, Any]:
    response = client.get(graph_url(entity, depth))
    assert response.status_code == 200
    return response.json()


def node_ids(data: dict[str, Any]) -> set[str]:
    return {n["data"]["id"] for n in data["elements"]["nodes"]}


def edge_triples(data: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (e["data"]["source"], e["data"]["type"], e["data"]["target"])
        for e in data["elements"]["edges"]
    }


def test_the_graph_has_the_neighbours_each_edge_once_and_dangling_ones_marked(
    client_as: Any, alice: Any, catalog_map: CatalogMap
) -> None:
    data = graph(client_as(alice), catalog_map.orders)
    assert data["center"] == "component:default/orders"
    assert node_ids(data) == {
        "component:default/orders",
        "group:default/payments",
        "system:default/checkout",
        "api:default/orders-api",
        "resource:default/orders-db",
        "resource:default/legacy-queue",
    }
    edges = edge_triples(data)
    assert ("component:default/orders", "providesApi", "api:default/orders-api") in edges
    assert ("component:default/orders", "dependsOn", "resource:default/legacy-queue") in edges
    # Relations among the neighbours are drawn too (the API is part of the system).
    assert ("api:default/orders-api", "partOf", "system:default/checkout") in edges
    # Stored both ways, drawn once, in the forward direction.
    assert not any(
        t in {"apiProvidedBy", "hasPart", "ownerOf", "dependencyOf"} for _, t, _ in edges
    )
    assert len(edges) == len(data["elements"]["edges"])
    nodes = {n["data"]["id"]: n["data"] for n in data["elements"]["nodes"]}
    assert nodes["resource:default/legacy-queue"]["dangling"] is True
    assert nodes["resource:default/legacy-queue"]["url"] == ""
    assert nodes["api:default/orders-api"]["url"] == page_url(catalog_map.orders_api)
    assert nodes["api:default/orders-api"]["kind"] == "API"
    assert nodes["component:default/orders"]["distance"] == 0

    deeper = graph(client_as(alice), catalog_map.orders, depth=2)
    assert "component:default/billing" in node_ids(deeper)
    assert (
        "component:default/billing",
        "consumesApi",
        "api:default/orders-api",
    ) in edge_triples(deeper)


def test_the_graph_holds_only_what_the_reader_may_see(
    client_as: Any, alice: Any, carol: Any, platform_admin: Any, catalog_map: CatalogMap
) -> None:
    assert "resource:default/search-index" not in node_ids(
        graph(client_as(alice), catalog_map.orders)
    )
    theirs = graph(client_as(carol), catalog_map.orders, depth=3)
    assert "resource:default/search-index" in node_ids(theirs)
    assert "resource:default/orders-db" not in node_ids(theirs)
    assert not any("orders-db" in " ".join(t) for t in edge_triples(theirs))
    everything = graph(client_as(platform_admin), catalog_map.orders)
    assert {"resource:default/orders-db", "resource:default/search-index"} <= node_ids(everything)


def test_the_graph_stops_at_its_limit_and_says_so(alice: Any, teams: dict[str, Team]) -> None:
    hub = make_entity(EntityKind.SYSTEM, "hub")
    for index in range(12):
        relate(make_entity(EntityKind.COMPONENT, f"part-{index:02}"), RelationType.PART_OF, hub)
    small = queries.neighbourhood(alice, hub, limit=5)
    assert len(small.nodes) == 6 and small.truncated
    whole = queries.neighbourhood(alice, hub, limit=200)
    assert len(whole.nodes) == 13 and not whole.truncated
    assert {e.type for e in whole.edges} == {RelationType.PART_OF}


# --- Query counts ---------------------------------------------------------------------------


def count_queries(client: Any, url: str, **params: Any) -> tuple[int, list[str]]:
    client.get(url, params)  # warm up: session, grants, content types
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, url
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def grow(catalog_map: CatalogMap, teams: dict[str, Team], n: int) -> None:
    """n more entities that match the searches, each related to the pages' entities."""
    for index in range(n):
        component = make_entity(
            EntityKind.COMPONENT,
            f"orders-worker-{index:03}",
            title=f"Orders worker {index}",
            tags=["orders"],
            owner_ref="group:default/payments",
        )
        relate(component, RelationType.OWNED_BY, catalog_map.payments)
        relate(component, RelationType.DEPENDS_ON, catalog_map.orders)
        relate(component, RelationType.PART_OF, catalog_map.checkout)
        resource = mirror_resource(f"orders-cache-{index:03}", teams["search"], 10_000 + index)
        relate(catalog_map.orders, RelationType.DEPENDS_ON, resource)


def test_search_page_and_graph_queries_do_not_grow_with_the_catalog(
    client_as: Any, alice: Any, catalog_map: CatalogMap, teams: dict[str, Team]
) -> None:
    client = client_as(alice)
    pages = [
        (reverse("catalog:entity_search"), {"q": "orders"}),
        (reverse("catalog:entity_list"), {"q": "orders", "kind": "Component"}),
        (page_url(catalog_map.orders), {}),
        (page_url(catalog_map.checkout), {}),
        (graph_url(catalog_map.orders), {}),
        (graph_url(catalog_map.checkout), {"depth": 2}),
    ]
    small = [count_queries(client, url, **params) for url, params in pages]
    grow(catalog_map, teams, 40)
    large = [count_queries(client, url, **params) for url, params in pages]
    for (url, _), (n_small, _), (n_large, sql) in zip(pages, small, large, strict=True):
        assert n_large == n_small, (url, n_small, n_large, "\n".join(sql))
    # The search itself is one query (once the user's grants are read).
    queries.search(alice, "")
    with CaptureQueriesContext(connection) as ctx:
        found = queries.search(alice, "orders")
    assert len(ctx.captured_queries) == 1 and len(found) == 20
    assert small[0][0] <= 6, "\n".join(small[0][1])
