"""The pages the benchmark measures, and how each is signed in to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from idp import services as idp_services

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@dataclass(frozen=True)
class Page:
    key: str
    title: str
    path: str
    auth: str  # "token", "session" or "none"
    user: str  # "member", "admin" or ""
    is_list: bool = False


def pages(*, service_slug: str, resource_id: int) -> list[Page]:
    """Every measured page; the ceiling first."""
    return [
        Page("ceiling", "minimal Django view (ceiling)", "/bench/ceiling", "none", ""),
        Page("api_resources_member", "API resource list, member of 3 teams",
             "/api/v1/resources/", "token", "member", is_list=True),
        Page("api_resources_admin", "API resource list, platform admin",
             "/api/v1/resources/", "token", "admin", is_list=True),
        Page("portal_resources_member", "portal resource list, member of 3 teams",
             "/resources/", "session", "member", is_list=True),
        Page("portal_resources_admin", "portal resource list, platform admin",
             "/resources/", "session", "admin", is_list=True),
        Page("catalog", "catalog page", "/catalog/", "session", "member", is_list=True),
        Page("service", "service page", f"/catalog/services/{service_slug}/", "session", "member"),
        Page("resource", "resource page", f"/resources/{resource_id}/", "session", "member"),
    ]  # fmt: skip


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
