"""Portal pages of the catalog's entities: search as you type, an entity's page (About card,
relations, dependency graph, resources and pipelines of a component, an API's definition)
and the graph's JSON. Every read goes through catalog.software.services.entity_queries."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.token import Error
from pygments.util import ClassNotFound

from catalog.choices import EntityKind, RelationType
from catalog.models import Entity
from idp.rbac import has_team_perm

from ..services import entity_queries as queries

PAGE_SIZE = 20
LINK_SCHEMES = ("http", "https", "mailto")
# The lexer of each API type's definition (AsyncAPI and OpenAPI are YAML or JSON).
LEXERS = {"graphql": "graphql", "grpc": "protobuf", "trpc": "typescript"}


_BaseStyle = get_style_by_name("default")


class DefinitionStyle(_BaseStyle):  # type: ignore[misc, valid-type]
    """Pygments' default colours without red boxes around what a lexer does not know
    (its GraphQL lexer reads queries, not schema definitions)."""

    styles = {**_BaseStyle.styles, Error: ""}


def entity_url(kind: str, namespace: str, name: str) -> str:
    return reverse("catalog:entity_detail", args=[kind.lower(), namespace, name])


def _search_context(request: HttpRequest) -> dict[str, Any]:
    q = request.GET.get("q", "").strip()[:200]
    kind = queries.resolve_kind(request.GET.get("kind")) or ""
    found = queries.search(request.user, q, kind=kind or None, limit=PAGE_SIZE + 1)
    return {
        "q": q,
        "kind": kind,
        "kinds": EntityKind.choices,
        "results": found[:PAGE_SIZE],
        "more": len(found) > PAGE_SIZE,
    }


@login_required
@require_GET
def entity_list(request: HttpRequest) -> HttpResponse:
    """The catalog's entities of every kind, searched as the user types."""
    return render(request, "catalog/entities/entity_list.html", _search_context(request))


@login_required
@require_GET
def entity_search(request: HttpRequest) -> HttpResponse:
    """The search results partial (htmx); the address bar follows the query."""
    context = _search_context(request)
    response = render(request, "catalog/entities/_results.html", context)
    params = {key: context[key] for key in ("q", "kind") if context[key]}
    response["HX-Replace-Url"] = reverse("catalog:entity_list") + (
        "?" + urlencode(params) if params else ""
    )
    return response


def _entity_or_404(request: HttpRequest, kind: str, namespace: str, name: str) -> Entity:
    entity = queries.get_entity(request.user, kind, namespace, name)
    if entity is None:
        raise Http404("No such entity.")
    return entity


def _safe_url(url: Any) -> str:
    """A link the page may render: http(s) or mailto only (no `javascript:` from a YAML file)."""
    if not isinstance(url, str):
        return ""
    return url if urlsplit(url.strip()).scheme.lower() in LINK_SCHEMES else ""


def _links(entity: Entity) -> list[dict[str, str]]:
    links = []
    for link in entity.links if isinstance(entity.links, list) else []:
        if isinstance(link, dict) and (url := _safe_url(link.get("url"))):
            links.append({"url": url, "title": str(link.get("title") or url)})
    return links


def _highlighted(text: str, api_type: str) -> SafeString:
    """The definition as highlighted HTML with line numbers (Pygments escapes the text)."""
    name = LEXERS.get(api_type) or ("json" if text.lstrip().startswith("{") else "yaml")
    try:
        lexer = get_lexer_by_name(name)
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    formatter = HtmlFormatter(
        noclasses=True, linenos="table", cssclass="definition-code", style=DefinitionStyle
    )
    return mark_safe(highlight(text.rstrip("\n"), lexer, formatter))  # noqa: S308 - Pygments escapes


def _service_sections(request: HttpRequest, entity: Entity) -> dict[str, Any]:
    """A component's service, its pipelines (its resources load from provisioning's partial)
    when the user sees that service; outsiders see the shared map only."""
    service = entity.service if entity.service_id else None
    if service is None or not has_team_perm(request.user, service.team, "view_team"):
        return {"service": None, "pipelines": []}
    manager = getattr(service, "pipelines", None)
    pipelines = list(manager.all()[:50]) if manager is not None else []
    return {"service": service, "pipelines": pipelines}


@login_required
@require_GET
def entity_detail(request: HttpRequest, kind: str, namespace: str, name: str) -> HttpResponse:
    entity = _entity_or_404(request, kind, namespace, name)
    relations = queries.relations_of(request.user, entity)
    owner = relations.first(RelationType.OWNED_BY)
    owner_team = owner.target.team if owner and owner.target and owner.target.team_id else None
    own_team = entity.team if entity.kind == EntityKind.GROUP else None
    definition = queries.api_definition(entity)
    spec = entity.spec if isinstance(entity.spec, dict) else {}
    context = {
        "entity": entity,
        "spec": spec,
        "relations": relations,
        "owner": owner,
        "system": relations.first(RelationType.PART_OF, EntityKind.SYSTEM),
        "domain": relations.first(RelationType.PART_OF, EntityKind.DOMAIN),
        # Team pages answer 404 to outsiders: link them only for those who see them.
        "owner_team": owner_team
        if owner_team and has_team_perm(request.user, owner_team, "view_team")
        else None,
        "own_team": own_team
        if own_team and has_team_perm(request.user, own_team, "view_team")
        else None,
        "kinds_legend": EntityKind.choices,
        "links": _links(entity),
        "source_url": _safe_url(entity.source_url),
        "definition": definition,
        "definition_html": _highlighted(definition.text, definition.type) if definition else "",
        "graph_url": reverse(
            "catalog:entity_graph", args=[entity.kind.lower(), entity.namespace, entity.name]
        ),
        **_service_sections(request, entity),
    }
    return render(request, "catalog/entities/entity_detail.html", context)


@login_required
@require_GET
def entity_graph(request: HttpRequest, kind: str, namespace: str, name: str) -> JsonResponse:
    """The entity's neighbourhood in Cytoscape.js's elements format."""
    entity = _entity_or_404(request, kind, namespace, name)
    try:
        depth = int(request.GET.get("depth", "1"))
    except ValueError:
        depth = 1
    graph = queries.neighbourhood(request.user, entity, depth=depth)
    labels = dict(RelationType.choices)
    nodes = [
        {
            "data": {
                "id": node.ref,
                "label": node.title or node.name,
                "kind": node.kind,
                "distance": node.distance,
                "dangling": node.dangling,
                "url": "" if node.dangling else entity_url(node.kind, node.namespace, node.name),
            }
        }
        for node in graph.nodes
    ]
    edges = [
        {
            "data": {
                "id": f"{edge.source}|{edge.type}|{edge.target}",
                "source": edge.source,
                "target": edge.target,
                "type": edge.type,
                "label": str(labels.get(edge.type, edge.type)),
            }
        }
        for edge in graph.edges
    ]
    return JsonResponse(
        {
            "center": graph.center,
            "truncated": graph.truncated,
            "elements": {"nodes": nodes, "edges": edges},
        }
    )
