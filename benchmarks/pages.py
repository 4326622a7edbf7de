"""The pages the benchmark measures, and how each is signed in to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from idp import services as idp_services

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


ROLES = {"member": "member of 3 teams", "admin": "platform admin"}


@dataclass(frozen=True)
class Page:
    key: str
    title: str
    path: str
    auth: str  # "token", "session" or "none"
    user: str  # "member", "admin" or ""
    is_list: bool = False
    # Queries per request allowed at either data size (the count pinned for this page).
    max_queries: int = 0


# (key, title, path template, auth, is a list, queries allowed): each measured for both roles.
# The counts are pinned at what the pages make today (the resource page at the 12):
# a page that needs one more query fails the run until its count is raised here on purpose.
PAGE_KINDS = (
    ("api_resources", "API resource list", "/api/v1/resources/", "token", True, 3),
    ("portal_resources", "portal resource list", "/resources/", "session", True, 8),
    ("catalog", "catalog page", "/catalog/", "session", True, 6),
    # The inbox reads the page's plan ids first, walking the decidable-plans index in order
    # with sorting off in a transaction of its own (BEGIN, SET LOCAL, the ids, COMMIT), then
    # those plans: 5 statements more than one join, ~76 ms instead of ~195 at 5,000 plans.
    ("inbox", "approvals inbox", "/resources/approvals/", "session", True, 11),
    ("service", "service page", "/catalog/services/{service_slug}/", "session", False, 8),
    ("resource", "resource page", "/resources/{resource_id}/", "session", False, 12),
)


def pages(*, service_slug: str, resource_id: int) -> list[Page]:
    """Every measured page, each for the member of 3 teams and for a platform admin; the
    ceiling first."""
    measured = [Page("ceiling", "minimal Django view (ceiling)", "/bench/ceiling", "none", "")]
    for kind, title, path, auth, is_list, max_queries in PAGE_KINDS:
        for role, who in ROLES.items():
            measured.append(
                Page(
                    f"{kind}_{role}",
                    f"{title}, {who}",
                    path.format(service_slug=service_slug, resource_id=resource_id),
                    auth,
                    role,
                    is_list=is_list,
                    max_queries=max_queries,
                )
            )
    return measured


def session_cookie(user: Any) -> str:
    """A signed-in session for `user`, as the login view would store it; returns its key."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = MODEL_BACKEND
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


def api_token(user: Any) -> str:
    """A real personal API token for `user` (through the service, with its audit event)."""
    _, raw = idp_services.create_api_token(user, name="benchmark")
    return raw


def request_headers(page: Page, credentials: dict[str, dict[str, str]]) -> dict[str, str]:
    """HTTP headers for a page: a Bearer token or the session cookie of its user."""
    if page.auth == "none":
        return {}
    creds = credentials[page.user]
    if page.auth == "token":
        return {"Authorization": f"Bearer {creds['token']}"}
    return {"Cookie": f"sessionid={creds['session']}"}
