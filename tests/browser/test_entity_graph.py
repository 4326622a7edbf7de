"""The catalog's entities in a real browser (Debian's Chromium): search as you type without a
reload, a component's page with its dependency graph drawn by the vendored Cytoscape.js
(clicking a node opens its page), and an API's OpenAPI definition rendered by the vendored
Swagger UI. Nothing is fetched from outside the live server."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.choices import EntityKind, RelationType
from idp.models import Team
from tests.browser_support import ARTIFACTS, sign_in
from tests.catalog.entity_support import CatalogMap, build_map, make_entity, relate

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shot(page: Any, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"entities-{step}.png"), full_page=True)


@pytest.fixture
def catalog_map(transactional_db: None, teams: dict[str, Team]) -> CatalogMap:
    return build_map(teams)


def test_search_open_a_component_follow_the_graph_to_its_api(
    page: Any, catalog_map: CatalogMap, alice: Any
) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if "127.0.0.1" not in r.url and "localhost" not in r.url and r.url.startswith("http")
            else None
        ),
    )
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, "alice", "pw-alice")
    page.goto("/catalog/entities/")
    page.evaluate("window.__samePage = 'yes'")

    # Typing asks for the results as it goes: no reload, the address follows.
    box = page.locator("input[name=q]")
    box.click()
    box.press_sequentially("ord", delay=60)
    # The results are swapped in (and the address replaced) once the typing pauses.
    page.wait_for_function("location.search === '?q=ord'")
    rows = page.locator("#entity-results tr[data-entity]")
    refs = [rows.nth(i).get_attribute("data-entity") for i in range(rows.count())]
    assert refs[:2] == ["component:default/orders", "api:default/orders-api"]
    assert "group:default/search" not in refs
    assert page.evaluate("window.__samePage") == "yes"
    page.select_option("select[name=kind]", "API")
    page.wait_for_function(
        "document.querySelectorAll('#entity-results tr[data-entity]').length === 1"
    )
    assert rows.first.get_attribute("data-entity") == "api:default/orders-api"
    assert page.evaluate("window.__samePage") == "yes"
    shot(page, "search")

    page.select_option("select[name=kind]", "")
    page.locator('#entity-results tr[data-entity="component:default/orders"]').wait_for()
    page.click('#entity-results tr[data-entity="component:default/orders"] a')
    page.wait_for_url("**/catalog/entities/component/default/orders/")

    # The graph: drawn on a canvas by Cytoscape.js with the component's neighbours.
    page.wait_for_function("document.getElementById('entity-graph').dataset.drawn === '1'")
    nodes = page.evaluate("window.entityGraph.nodes().map(n => n.id()).sort()")
    assert nodes == [
        "api:default/orders-api",
        "component:default/orders",
        "group:default/payments",
        "resource:default/legacy-queue",
        "resource:default/orders-db",
        "system:default/checkout",
    ]
    assert page.evaluate("window.entityGraph.edges().length") >= 6
    painted = page.evaluate(
        """() => { let n = 0;
        for (const c of document.querySelectorAll('#entity-graph canvas')) {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } }
        return n; }"""
    )
    assert painted > 500
    assert "5 related entities" in page.locator("#graph-note").inner_text()
    # The service's resources come in from provisioning's partial.
    page.locator("#service-resources table").wait_for()
    assert "Loading" not in page.locator("#service-resources").inner_text()
    assert page.locator("#relations").get_by_text("not in the catalog").count() == 1
    shot(page, "component")

    # Clicking the API's node opens its page.
    x, y = page.evaluate(
        """() => { const p = window.entityGraph.getElementById('api:default/orders-api')
                     .renderedPosition();
                   const r = document.getElementById('entity-graph').getBoundingClientRect();
                   return [r.left + p.x, r.top + p.y]; }"""
    )
    page.mouse.click(x, y)
    page.wait_for_url("**/catalog/entities/api/default/orders-api/")

    # The OpenAPI definition, rendered by Swagger UI.
    title = page.locator("#swagger-ui .info .title")
    title.wait_for()
    assert "Orders API" in title.inner_text()
    assert page.locator("#swagger-ui .opblock-summary-path").first.is_visible()
    paths = page.locator("#swagger-ui .opblock-summary-path").all_inner_texts()
    assert [p.strip() for p in paths] == ["/orders", "/orders"]
    shot(page, "api")

    # A GraphQL definition is highlighted text with line numbers.
    page.goto("/catalog/entities/api/default/payments-graphql/")
    definition = page.locator("#definition .definition-text")
    definition.wait_for()
    assert "type Query" in definition.inner_text()
    assert 'alert("not run")' in definition.inner_text()  # shown as text, never run
    shot(page, "graphql")
    assert dialogs == []
    assert outside == []


def test_a_component_with_200_neighbours_draws_them_all(
    page: Any, transactional_db: None, alice: Any
) -> None:
    hub = make_entity(EntityKind.COMPONENT, "hub", title="Hub service")
    for index in range(200):
        kind = (EntityKind.API, EntityKind.RESOURCE, EntityKind.COMPONENT)[index % 3]
        relate(hub, RelationType.DEPENDS_ON, make_entity(kind, f"part-{index:03}"))
    sign_in(page, "alice", "pw-alice")
    page.goto("/catalog/entities/component/default/hub/")
    page.wait_for_function("document.getElementById('entity-graph').dataset.drawn === '1'")
    assert page.evaluate("window.entityGraph.nodes().length") == 201
    assert page.evaluate("window.entityGraph.edges().length") == 200
    assert "200 related entities" in page.locator("#graph-note").inner_text()
    # Crowded: the neighbours are named on hover only, the centre always.
    assert page.evaluate("window.entityGraph.nodes('.quiet').length") == 200
    shot(page, "hub-200")
