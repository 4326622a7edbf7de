"""The catalog's entities in Backstage's descriptor format: import, the platform's own
facts, relations, visibility and export. Surfaces (API, portal, CLI, commands, hooks) call
these and nothing below them."""

from .access import (
    can_see,
    entity_document,
    get_entity,
    owner_filter,
    visible_entities,
    visible_relations,
    with_relations,
)
from .importer import ImportItem, ImportReport, import_entities
from .platform import (
    PlatformSyncReport,
    sync_platform_entities,
    sync_resource,
    sync_service,
    sync_team,
    sync_user,
)
from .refs import Ref, RefError, entity_ref, parse_ref
from .validation import DocumentError, EntityDocument, parse_documents

__all__ = [
    "DocumentError",
    "EntityDocument",
    "ImportItem",
    "ImportReport",
    "PlatformSyncReport",
    "Ref",
    "RefError",
    "can_see",
    "entity_document",
    "entity_ref",
    "get_entity",
    "import_entities",
    "owner_filter",
    "parse_documents",
    "parse_ref",
    "sync_platform_entities",
    "sync_resource",
    "sync_service",
    "sync_team",
    "sync_user",
    "visible_entities",
    "visible_relations",
    "with_relations",
]
