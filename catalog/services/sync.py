"""Templates as code: folders of `terraform_modules/` (and IDP_TEMPLATE_DIRS) -> the catalog."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from idp import audit
from idp.actors import Person
from idp.models import Team

from ..choices import AuditAction
from ..models import Template, TemplateVersion
from .loader import ParsedTemplate, TemplateError, load_template, template_dirs, valid_slug

logger = logging.getLogger(__name__)


@dataclass
class SyncReport:
    loaded: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def describe_changes(old: TemplateVersion | None, new: ParsedTemplate) -> str:
    """A short human summary of what changed between two versions."""
    if old is None:
        return "First version."
    old_props = old.parameters_schema.get("properties", {})
    new_props = new.parameters_schema.get("properties", {})
    notes = []
    added = sorted(set(new_props) - set(old_props))
    removed = sorted(set(old_props) - set(new_props))
    changed = sorted(k for k in set(new_props) & set(old_props) if new_props[k] != old_props[k])
    if added:
        notes.append("added parameters " + ", ".join(added))
    if removed:
        notes.append("removed parameters " + ", ".join(removed))
    if changed:
        notes.append("changed parameters " + ", ".join(changed))
    old_outputs = {o["name"] for o in old.outputs}
    new_outputs = {o["name"] for o in new.outputs}
    if new_outputs - old_outputs:
        notes.append("added outputs " + ", ".join(sorted(new_outputs - old_outputs)))
    if old_outputs - new_outputs:
        notes.append("removed outputs " + ", ".join(sorted(old_outputs - new_outputs)))
    changed_files = sorted(
        name
        for name in set(old.files) | set(new.files)
        if old.files.get(name) != new.files.get(name)
    )
    if changed_files:
        notes.append("files changed: " + ", ".join(changed_files))
    label = new.metadata.get("changelog")
    summary = "; ".join(notes) or "No visible change."
    return f"{label}\n{summary}" if label else summary[0].upper() + summary[1:]


@transaction.atomic
def store_template(
    parsed: ParsedTemplate, *, source_path: str = "", actor: Person | None = None
) -> tuple[Template, TemplateVersion, bool]:
    """Create or update the Template; a new TemplateVersion only when the content hash is new."""
    meta = parsed.metadata
    owner = Team.objects.filter(slug=str(meta.get("owner", ""))).first()
    template, created = Template.objects.select_for_update().get_or_create(
        slug=parsed.slug, defaults={"title": parsed.title}
    )
    if template.source_id is not None:
        # Its versions are a Git source's tags; a folder of the same name must not add to them.
        raise TemplateError(".", None, f"template {parsed.slug!r} comes from a template source")
    fields: dict[str, Any] = {
        "title": parsed.title[:200],
        "description": str(meta.get("description", "")).strip(),
        "category": str(meta.get("category", ""))[:50],
        "owner_team": owner,
        "source_path": source_path[:1000],
        "sync_error": "",
    }
    existing = template.versions.filter(content_hash=parsed.content_hash).first()
    is_new = existing is None
    if existing is None:
        previous = template.versions.order_by("-number").first()
        existing = TemplateVersion.objects.create(
            template=template,
            number=(previous.number + 1) if previous else 1,
            changelog=describe_changes(previous, parsed),
            **parsed.version_fields(),
        )
    fields["current_version"] = existing
    if meta.get("deprecated") is True:
        fields["deprecated"] = True
    changed = {k: v for k, v in fields.items() if getattr(template, k) != v}
    for key, value in changed.items():
        setattr(template, key, value)
    if changed:
        template.save()
    if is_new:
        audit.record(
            AuditAction.TEMPLATE_VERSION_CREATED,
            actor=actor,
            target=template,
            details={"version": existing.number, "content_hash": parsed.content_hash},
        )
    return template, existing, is_new


def _record_failure(slug: str, error: str) -> None:
    if not valid_slug(slug):
        return
    template, created = Template.objects.get_or_create(
        slug=slug, defaults={"title": slug, "sync_error": error}
    )
    if not created and template.sync_error != error:
        Template.objects.filter(pk=template.pk).update(sync_error=error)


def _folders() -> list[tuple[str, Path]]:
    found = []
    for base in template_dirs():
        if not base.is_dir():
            continue
        for entry in sorted(os.scandir(base), key=lambda e: e.name):
            if entry.name.startswith((".", "_")) or not entry.is_dir(follow_symlinks=False):
                continue
            found.append((entry.name, Path(entry.path)))
    return found


def sync_templates(*, actor: Person | None = None, only: list[str] | None = None) -> SyncReport:
    """Load every template folder; each one loads or fails on its own."""
    report = SyncReport()
    taken: set[str] = set()
    for slug, folder in _folders():
        if only and slug not in only:
            continue
        if slug in taken:
            report.failed[slug] = f"{folder}: a template named {slug!r} was already loaded"
            continue
        taken.add(slug)
        try:
            parsed = load_template(folder)
            template, version, is_new = store_template(
                parsed, source_path=_display(folder), actor=actor
            )
        except TemplateError as exc:
            message = f"{slug}/{exc}"
            report.failed[slug] = message
            _record_failure(slug, message)
            logger.warning("template sync failed: %s", message)
            continue
        except Exception as exc:  # one bad folder must not stop the others from loading
            message = f"{slug}: unexpected {type(exc).__name__}: {exc}"
            report.failed[slug] = message
            logger.exception("template sync failed: %s", slug)
            continue
        report.loaded.append(slug)
        if is_new and version.number == 1:
            report.created.append(f"{slug} {version.display}")
        elif is_new:
            report.changed.append(f"{slug} {version.display}")
        else:
            report.unchanged.append(f"{slug} {version.display}")
    return report


def _display(folder: Path) -> str:
    """The folder relative to the project when it is inside it (no machine paths stored)."""
    from django.conf import settings

    try:
        return folder.resolve().relative_to(Path(settings.BASE_DIR).resolve()).as_posix()
    except ValueError:
        return folder.name


@transaction.atomic
def deprecate_template(
    template: Template, *, actor: Person | None = None, deprecated: bool = True
) -> Template:
    """Hide a template from new requests (existing resources keep their version)."""
    if template.deprecated != deprecated:
        template.deprecated = deprecated
        template.save(update_fields=["deprecated", "updated_at"])
        audit.record(
            AuditAction.TEMPLATE_DEPRECATED if deprecated else AuditAction.TEMPLATE_UNDEPRECATED,
            actor=actor,
            target=template,
        )
    return template
