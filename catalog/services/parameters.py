"""Which template version a request uses, and whether its parameters fit the schema."""

from __future__ import annotations

import copy
import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from idp.services import ServiceError

from ..models import Template, TemplateVersion
from .loader import valid_slug
from .messages import ordered_names, parameter_message
from .schema import PLATFORM_VARIABLES, is_reference, resource_ref


def resolve_version(template_slug: str, number: int | str | None = None) -> TemplateVersion:
    """The version a new request would use: `number`, or the template's current one.

    Deprecated templates are refused (their existing resources keep working).
    """
    if not isinstance(template_slug, str) or not valid_slug(template_slug):
        raise ServiceError(
            "Not a template slug (lowercase letters, digits and '-')", field="template"
        )
    template = Template.objects.filter(slug=template_slug).first()
    if template is None:
        raise ServiceError(f"Unknown template {template_slug!r}", field="template")
    if template.deprecated:
        raise ServiceError(
            f"Template {template_slug!r} is deprecated; choose another", field="template"
        )
    if number is None:
        if template.current_version_id is None:
            raise ServiceError(
                f"Template {template_slug!r} has no loaded version", field="template"
            )
        return TemplateVersion.objects.select_related("template").get(
            pk=template.current_version_id
        )
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise ServiceError("Version must be a whole number", field="version") from None
    version = (
        TemplateVersion.objects.select_related("template")
        .filter(template=template, number=number)
        .first()
    )
    if version is None:
        raise ServiceError(f"Template {template_slug!r} has no version {number}", field="version")
    return version


def _apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    """Fill defaults of absent properties, recursively through objects."""
    if not isinstance(value, dict) or schema.get("type") != "object":
        return value
    result = dict(value)
    for name, prop in (schema.get("properties") or {}).items():
        if name not in result and "default" in prop:
            result[name] = copy.deepcopy(prop["default"])
        if name in result:
            result[name] = _apply_defaults(prop, result[name])
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for name in set(result) - set(schema.get("properties") or {}):
            result[name] = _apply_defaults(extra, result[name])
    return result


def _unknown(properties: dict[str, Any]) -> str:
    if not properties:
        return "Unknown parameter: this template takes none"
    return f"Unknown parameter: this template takes {', '.join(ordered_names(properties))}"


def _error_field(error: ValidationError, properties: dict[str, Any]) -> list[str]:
    if error.path:
        return [str(error.path[0])]
    if error.validator == "required":
        match = re.match(r"'(.+?)' is a required property", error.message)
        return [match.group(1)] if match else []
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        return sorted(str(k) for k in error.instance if k not in properties) or []
    return []


def validate_parameters(version: TemplateVersion, parameters: dict[str, Any]) -> dict[str, Any]:
    """Check `parameters` against the version's JSON Schema; returns them with defaults applied.

    Raises ServiceError whose errors map `parameters.<name>` to messages.
    """
    schema = version.parameters_schema or {"type": "object"}
    properties = schema.get("properties") or {}
    if not isinstance(parameters, dict):
        raise ServiceError("Invalid parameters", errors={"parameters": ["Must be an object"]})
    errors: dict[str, list[str]] = {}
    for name in PLATFORM_VARIABLES:
        if name in parameters:
            errors.setdefault(f"parameters.{name}", []).append(
                "Set by the platform; do not pass it"
            )
    candidate = {k: v for k, v in parameters.items() if k not in PLATFORM_VARIABLES}
    # A parameter taken from another resource's output is checked by provisioning (which
    # resource, which output) and its value by Terraform at plan time; the rest here.
    references = _references(properties, candidate, errors)
    if references:
        candidate = {k: v for k, v in candidate.items() if k not in references}
        schema = {
            **schema,
            "required": [r for r in schema.get("required") or [] if r not in references],
        }
    candidate = _apply_defaults(schema, candidate)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for error in sorted(validator.iter_errors(candidate), key=lambda e: list(e.path)):
        names = _error_field(error, properties)
        if not names:
            errors.setdefault("parameters", []).append(parameter_message(error, {}))
            continue
        for name in names:
            # Every sentence is built from the rule, never from the value: secrets stay out.
            if name not in properties:
                message = _unknown(properties)
            elif error.validator == "required" and not error.path:
                message = "This parameter is required"
            else:
                message = parameter_message(error, properties.get(name))
            bucket = errors.setdefault(f"parameters.{name}", [])
            if message not in bucket:
                bucket.append(message)
    if errors:
        raise ServiceError("Invalid parameters", errors=errors)
    return {**candidate, **references}


def _references(
    properties: dict[str, Any], values: dict[str, Any], errors: dict[str, list[str]]
) -> dict[str, Any]:
    """The values that name a resource (`{"resource": ...}`) for parameters that take one;
    a literal where the template allows only a resource is refused."""
    found: dict[str, Any] = {}
    for name, prop in properties.items():
        ref = resource_ref(prop)
        if ref is None:
            continue
        value = values.get(name)
        if is_reference(value):
            found[name] = value
        elif name in values and not ref.get("literal", True):
            errors.setdefault(f"parameters.{name}", []).append(
                f"Choose one of your team's {ref['template']} resources: this parameter "
                f"takes its {ref['output']} output"
            )
    return found
