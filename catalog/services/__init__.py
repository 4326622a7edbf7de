"""Template registry operations: template sync, version resolution, parameter validation.

Other apps call `resolve_version` and `validate_parameters`; the names and signatures are a
contract. Services (create, update, archive) are the software catalog's
(catalog/software/services/components.py).
"""

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
    "deprecate_template",
    "find_template_dir",
    "load_template",
    "parse_template",
    "resolve_version",
    "store_template",
    "sync_templates",
    "type_to_schema",
    "valid_slug",
    "validate_parameters",
    "validation_keywords",
]
