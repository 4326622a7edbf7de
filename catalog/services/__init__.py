"""Catalog operations: template sync, version resolution, parameter validation, services.

Other apps call `resolve_version`, `validate_parameters`, `create_service`,
`update_service` and `archive_service`; the names and signatures are a contract.
"""

from .components import archive_service, create_service, update_service
from .loader import (
    ParsedTemplate,
    TemplateError,
    find_template_dir,
    load_template,
    parse_template,
    valid_slug,
)
from .parameters import resolve_version, validate_parameters
from .schema import PLATFORM_VARIABLES, type_to_schema, validation_keywords
from .sync import SyncReport, deprecate_template, store_template, sync_templates

__all__ = [
    "PLATFORM_VARIABLES",
    "ParsedTemplate",
    "SyncReport",
    "TemplateError",
    "archive_service",
    "create_service",
    "deprecate_template",
    "find_template_dir",
    "load_template",
    "parse_template",
    "resolve_version",
    "store_template",
    "sync_templates",
    "type_to_schema",
    "update_service",
    "valid_slug",
    "validate_parameters",
    "validation_keywords",
]
