"""What the importer and the platform's own facts share: hashing, search text, write rights,
owner resolution and the facts a Service adds to its Component."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from catalog.choices import AuditAction
from catalog.models import Entity, Service
from idp.models import Team
from idp.rbac import has_team_perm, is_platform_admin

from .refs import DEFAULT_NAMESPACE, parse_ref

AUDIT_IMPORTED = AuditAction.ENTITIES_IMPORTED
UNKNOWN_OWNER = "unknown-owner"
OWNER_MISMATCH = "owner-mismatch"
TAG_RE = re.compile(r"^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$")


def content_hash(kind: str, namespace: str, name: str, metadata: dict, spec: dict) -> str:
    body = {"kind": kind, "namespace": namespace, "name": name, "metadata": metadata, "spec": spec}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def search_text(name: str, metadata: dict) -> str:
    parts = [
        name,
        metadata.get("title", ""),
        metadata.get("description", ""),
        " ".join(metadata.get("tags", [])),
    ]
    return " ".join(str(p) for p in parts if p).lower()[:10000]


def may_write(actor: Any, team: Team | None) -> bool:
    """Maintainers of the owning team, or platform admins; the system (None) always; an
    entity no team owns needs a platform admin."""
    if actor is None:
        return True
    if team is None:
        return is_platform_admin(actor)
    return has_team_perm(actor, team, "maintain_team")


def team_slug_of(owner_ref: str) -> str | None:
    """The team slug an owner reference names (group:default/<slug>), else None."""
    if not owner_ref:
        return None
    ref = parse_ref(owner_ref, default_kind="group")
    return ref.name if ref.kind == "group" and ref.namespace == DEFAULT_NAMESPACE else None


def owner_problems(owner_ref: str, team: Team | None, service: Service | None) -> list[dict]:
    problems: list[dict] = []
    if owner_ref and team is None:
        problems.append(
            {
                "code": UNKNOWN_OWNER,
                "ref": owner_ref,
                "message": f"owner {owner_ref} is not a team of the platform",
            }
        )
    if service is not None and team is not None and team.pk != service.team_id:
        problems.append(
            {
                "code": OWNER_MISMATCH,
                "ref": owner_ref,
                "message": f"owner {owner_ref} differs from the team of service "
                f"{service.slug} ({service.team.slug})",
            }
        )
    return problems


def clean_tags(tags: list[str]) -> list[str]:
    """Tags as Backstage accepts them (lower-case words joined by hyphens)."""
    out = []
    for tag in tags:
        tag = re.sub(r"[^a-z0-9:+#]+", "-", str(tag).lower()).strip("-")[:63]
        if tag and TAG_RE.match(tag) and tag not in out:
            out.append(tag)
    return out


def service_annotations(service: Service) -> dict[str, str]:
    out: dict[str, str] = {}
    url = service.repository_url
    if url:
        out["backstage.io/source-location"] = f"url:{url}"
        match = re.match(r"^https?://github\.com/([^/]+/[^/#?]+?)(?:\.git)?/?$", url)
        if match:
            out["github.com/project-slug"] = match[1]
    return out


def merge_service_facts(metadata: dict, service: Service) -> dict:
    """A Component's metadata enriched with what the platform knows of its Service; the
    document's own words win, tags and links are joined."""
    merged = dict(metadata)
    if service.name and service.name != service.slug and not merged.get("title"):
        merged["title"] = service.name
    if service.description and not merged.get("description"):
        merged["description"] = service.description
    tags = list(merged.get("tags", []))
    tags += [t for t in clean_tags(service.tags) if t not in tags]
    if tags:
        merged["tags"] = tags
    links = list(merged.get("links", []))
    urls = {link.get("url") for link in links}
    links += [dict(link) for link in service.links if link.get("url") not in urls]
    if links:
        merged["links"] = links
    annotations = dict(merged.get("annotations", {}))
    for key, value in service_annotations(service).items():
        annotations.setdefault(key, value)
    if annotations:
        merged["annotations"] = annotations
    return merged


def apply_values(entity: Entity, metadata: dict, spec: dict) -> None:
    """Copy a document's metadata and spec onto the row, with hash and search text."""
    entity.title = str(metadata.get("title", ""))[:200]
    entity.description = str(metadata.get("description", ""))
    entity.labels = dict(metadata.get("labels", {}))
    entity.annotations = dict(metadata.get("annotations", {}))
    entity.tags = list(metadata.get("tags", []))
    entity.links = list(metadata.get("links", []))
    entity.spec = spec
    entity.search_text = search_text(entity.name, metadata)
    entity.content_hash = content_hash(entity.kind, entity.namespace, entity.name, metadata, spec)


def metadata_of(entity: Entity) -> dict:
    """The stored metadata of a row in document form (empty fields left out)."""
    meta: dict[str, Any] = {}
    for key in ("title", "description", "labels", "annotations", "tags", "links"):
        value = getattr(entity, key)
        if value:
            meta[key] = value
    return meta
