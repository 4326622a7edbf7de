"""Portal pages of a component's docs (TechDocs-style): the docs tab, the built site, the
"Build docs" action and docs search.

How built pages are served safely: the HTML comes from a repository any team writes, so it
is never trusted. The portal page embeds it in an `<iframe sandbox="allow-same-origin
allow-popups …">` (no `allow-scripts`), and every built file is answered with a strict
Content-Security-Policy that carries the same `sandbox` directive, `script-src 'none'` and
`default-src 'none'` — so even opened directly in a tab, a page runs no script, submits no
form and loads nothing from outside the portal. `allow-same-origin` without `allow-scripts`
is the safe combination: it lets the page's stylesheets and images load with the session
cookie (an opaque-origin sandbox sends no SameSite cookie, so they would need to be public)
while nothing in the page can use that origin. Material's pages read fine without
JavaScript; its client-side search is replaced by ours (`search_docs`).
"""

from __future__ import annotations

import mimetypes
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from catalog.choices import DocsStatus, EntityKind
from catalog.models import Entity

from ..services import docs

SITE_CSP = "; ".join(
    [
        "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox",
        "default-src 'none'",
        "script-src 'none'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ]
)
KINDS = {kind.lower(): kind for kind in EntityKind.values}


def _entity_or_404(request: HttpRequest, kind: str, namespace: str, name: str) -> Entity:
    """The entity if `request.user` may read it; another team's private entity is a 404."""
    stored_kind = KINDS.get(kind.lower())
    entity = (
        docs.visible_entities(request.user)
        .filter(kind=stored_kind, namespace=namespace, name=name)
        .select_related("team", "service", "location")
        .first()
        if stored_kind
        else None
    )
    if entity is None:
        raise Http404("No such entity.")
    return entity


def _urls(entity: Entity) -> dict[str, str]:
    args = [entity.kind.lower(), entity.namespace, entity.name]
    return {
        "entity": reverse("catalog:entity_detail", args=args),
        "docs": reverse("catalog:entity_docs", args=args),
        "site": reverse("catalog:entity_docs_site_root", args=args),
        "build": reverse("catalog:entity_docs_build", args=args),
        "search": reverse("catalog:docs_search"),
    }


@login_required
@require_GET
def entity_docs(
    request: HttpRequest, kind: str, namespace: str, name: str, path: str = ""
) -> HttpResponse:
    """The docs tab: the latest successful build in a sandboxed frame, its state and, for
    the owner team, the last build's log."""
    entity = _entity_or_404(request, kind, namespace, name)
    build = docs.latest_build(entity)
    attempt = docs.last_attempt(entity)
    urls = _urls(entity)
    context: dict[str, Any] = {
        "entity": entity,
        "build": build,
        "attempt": attempt,
        "urls": urls,
        "frame_src": urls["site"] + path,
        "can_build": docs.can_request_build(request.user, entity),
        "can_see_log": docs.can_see_build_log(request.user, entity),
        "pending": attempt is not None
        and attempt.status in (DocsStatus.QUEUED, DocsStatus.BUILDING),
    }
    return render(request, "catalog/docs/entity_docs.html", context)


@login_required
@require_GET
@xframe_options_sameorigin
def entity_docs_site(
    request: HttpRequest, kind: str, namespace: str, name: str, path: str = ""
) -> HttpResponse:
    """One built file of the latest successful build, under the strict policy above."""
    entity = _entity_or_404(request, kind, namespace, name)
    build = docs.latest_build(entity)
    found = docs.build_file(build, path) if build is not None else None
    if found is None:
        raise Http404("No such page in the docs.")
    content, stored = found
    if path and not path.endswith("/") and stored.endswith("/index.html") and stored != path:
        # A folder without its slash: relative links of the page need it.
        return redirect(request.path + "/")
    content_type = mimetypes.guess_type(stored)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type == "image/svg+xml":
        content_type += "; charset=utf-8"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Security-Policy"] = SITE_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "private, max-age=60"
    return response


@login_required
@require_POST
def entity_docs_build(request: HttpRequest, kind: str, namespace: str, name: str) -> HttpResponse:
    """The owner team's "Build docs" button: queue a build (the worker runs it)."""
    entity = _entity_or_404(request, kind, namespace, name)
    if not docs.can_request_build(request.user, entity):
        # The entity is readable by everyone, so saying it exists reveals nothing.
        raise PermissionDenied("Only members of the owner team build its docs.")
    try:
        docs.request_build(entity, actor=request.user)
    except docs.DocsError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Docs build queued.")
    return redirect(_urls(entity)["docs"])


@login_required
@require_GET
def docs_search(request: HttpRequest) -> HttpResponse:
    """Search the built docs of every component the user may read."""
    q = request.GET.get("q", "").strip()[:200]
    hits = docs.search_docs(request.user, q) if q else []
    results = [
        {
            "hit": hit,
            "url": _urls(hit.entity)["docs"] + ("" if hit.path == "index.html" else hit.path),
        }
        for hit in hits
    ]
    return render(request, "catalog/docs/search.html", {"q": q, "results": results})
