"""Reading a template folder: HCL variables and outputs, template.yaml, README.

Parsing is pure (files in, `ParsedTemplate` out) and cached by content hash, so
a sync of unchanged folders and every page view cost no HCL parsing at all.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import yaml
from django.conf import settings
from hcl2.utils import SerializationOptions

from .schema import (
    JSON_SCHEMA_DIALECT,
    PLATFORM_VARIABLES,
    RefinementError,
    TypeSyntaxError,
    humanize,
    resource_ref_keywords,
    type_to_schema,
    validation_keywords,
)

SLUG_RE = re.compile(r"^[a-z0-9-]+$")
MAX_FILE_BYTES = 512 * 1024
TEXT_SUFFIXES = (".tf", ".md", ".yaml", ".yml", ".json", ".tftpl", ".py", ".sh", ".txt")
REFINEMENT_KEYS = {
    "title",
    "order",
    "enum",
    "help",
    "pattern",
    "description",
    "placeholder",
    "minimum",
    "maximum",
    "format",
    "error_message",
    "from_resource",
}
_HCL_OPTIONS = SerializationOptions(
    with_comments=False, strip_string_quotes=True, preserve_heredocs=False
)


class TemplateError(Exception):
    """A template folder that cannot be loaded; the message names the file and line."""

    def __init__(self, file: str, line: int | None, message: str):
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")


@dataclass
class ParsedTemplate:
    slug: str
    content_hash: str
    files: dict[str, str]
    metadata: dict[str, Any]
    parameters_schema: dict[str, Any]
    outputs: list[dict[str, Any]]
    readme: str
    approval_policy: dict[str, str | int]
    cost_hints: dict[str, Any]
    alarms: list[dict[str, Any]]
    allowed_environments: list[str]
    platform_variables: list[str] = field(default_factory=list)

    def version_fields(self) -> dict[str, Any]:
        """What a TemplateVersion made from this module stores of it (folder or Git tag)."""
        return {
            "content_hash": self.content_hash,
            "files": self.files,
            "metadata": self.metadata,
            "parameters_schema": self.parameters_schema,
            "outputs": self.outputs,
            "readme": self.readme,
            "approval_policy": self.approval_policy,
            "cost_hints": self.cost_hints,
            "alarms": self.alarms,
            "allowed_environments": self.allowed_environments,
        }

    @property
    def title(self) -> str:
        return str(self.metadata.get("title") or humanize(self.slug))


def valid_slug(slug: str) -> bool:
    return bool(SLUG_RE.fullmatch(slug or "")) and len(slug) <= 63


def template_dirs() -> list[Path]:
    return [Path(p) for p in settings.IDP_TEMPLATE_DIRS]


def find_template_dir(slug: str) -> Path | None:
    """The folder of template `slug`, found by listing the configured dirs (never by joining)."""
    if not valid_slug(slug):
        return None
    for base in template_dirs():
        if not base.is_dir():
            continue
        for entry in os.scandir(base):
            if entry.name == slug and entry.is_dir(follow_symlinks=False):
                return Path(entry.path)
    return None


def read_files(folder: Path) -> dict[str, str]:
    """Relative path -> text for every visible text file in the module folder."""
    files: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or path.is_symlink():
            continue
        if not path.is_file() or not path.name.endswith(TEXT_SUFFIXES):
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            raise TemplateError(str(rel), None, f"file is larger than {MAX_FILE_BYTES} bytes")
        try:
            files[rel.as_posix()] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise TemplateError(str(rel), None, f"not UTF-8 text: {exc}") from exc
    return files


def content_hash(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


def _line_of(text: str, pattern: str) -> int | None:
    match = re.search(pattern, text, re.M)
    return text.count("\n", 0, match.start()) + 1 if match else None


@functools.lru_cache(maxsize=512)
def _parse_hcl(name: str, text: str) -> dict[str, Any]:
    """Parsed HCL of one file (memoised: variables and outputs read the same files)."""
    try:
        return hcl2.loads(text, serialization_options=_HCL_OPTIONS)
    except Exception as exc:  # lark raises several error types, all with a line
        line = getattr(exc, "line", None)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TemplateError(
            name, line if isinstance(line, int) and line > 0 else None, f"invalid HCL: {first}"
        ) from exc


def _blocks(parsed: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in parsed.get(kind, []):
        for name, body in block.items():
            out.append((name.strip('"'), body))
    return out


def _variables(files: dict[str, str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """name -> parsed block, and name -> the file it is in, over every .tf file."""
    found: dict[str, dict[str, Any]] = {}
    where: dict[str, str] = {}
    for name, text in files.items():
        if not name.endswith(".tf") or "/" in name:
            continue
        for var, body in _blocks(_parse_hcl(name, text), "variable"):
            found[var], where[var] = body, name
    return found, where


def _variable_schema(var: str, body: dict[str, Any], file: str, text: str) -> dict[str, Any]:
    line = _line_of(text, rf'^[ \t]*variable\s+"{re.escape(var)}"')
    description = body.get("description")
    if not isinstance(description, str) or not description.strip():
        raise TemplateError(file, line, f'variable "{var}" has no description')
    try:
        schema = type_to_schema(body.get("type"))
    except TypeSyntaxError as exc:
        raise TemplateError(file, line, f'variable "{var}": {exc}') from exc
    schema = {"title": humanize(var), "description": description.strip(), **schema}
    if "default" in body and body["default"] is not None:
        schema["default"] = body["default"]
    elif "default" in body and isinstance(schema.get("type"), str):
        # `default = null`: the variable may be left unset or set to null.
        schema["type"] = [schema["type"], "null"]
    if body.get("sensitive") is True:
        schema["writeOnly"] = True
        schema["x-sensitive"] = True
        # A secret default stays in the module (Terraform applies it), never in pages or the API.
        schema.pop("default", None)
    unmapped = []
    for rule in body.get("validation", []) or []:
        condition = str(rule.get("condition", ""))
        kind = schema.get("type")
        keywords = validation_keywords(var, condition, kind[0] if isinstance(kind, list) else kind)
        if keywords is None:
            unmapped.append(
                {
                    "condition": condition.removeprefix("${").removesuffix("}"),
                    "error_message": str(rule.get("error_message", "")),
                }
            )
            continue
        if keywords.get("type") == "integer" and schema.get("type") != "number":
            keywords.pop("type")
        schema.update(keywords)
        if rule.get("error_message"):
            schema.setdefault("x-error-messages", []).append(str(rule["error_message"]))
            # The author's words for exactly the keywords this rule became (see messages.py).
            for keyword in keywords:
                schema.setdefault("x-error-message-for", {})[keyword] = str(rule["error_message"])
    if unmapped:
        # Checked by Terraform at plan time; kept here so the page can explain them.
        schema["x-terraform-validations"] = unmapped
    return schema


def _yaml_key_lines(text: str, section: str) -> dict[str, int]:
    """Line of each key under the top-level mapping `section` of a YAML document."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == section and isinstance(value, yaml.MappingNode):
                for sub_key, _ in value.value:
                    lines[str(sub_key.value)] = sub_key.start_mark.line + 1
    return lines


def _load_metadata(files: dict[str, str]) -> dict[str, Any]:
    text = files.get("template.yaml")
    if text is None:
        raise TemplateError("template.yaml", None, "missing")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TemplateError(
            "template.yaml",
            mark.line + 1 if mark else None,
            f"invalid YAML: {getattr(exc, 'problem', exc)}",
        ) from exc
    if not isinstance(data, dict):
        raise TemplateError("template.yaml", 1, "must be a mapping")
    return data


def _apply_refinements(
    properties: dict[str, dict[str, Any]], metadata: dict[str, Any], files: dict[str, str]
) -> None:
    refinements = metadata.get("parameters") or {}
    lines = _yaml_key_lines(files["template.yaml"], "parameters")
    if not isinstance(refinements, dict):
        raise TemplateError("template.yaml", None, "parameters must be a mapping")
    for var, refine in refinements.items():
        line = lines.get(str(var))
        if var not in properties:
            raise TemplateError("template.yaml", line, f'refinement names unknown variable "{var}"')
        if not isinstance(refine, dict):
            raise TemplateError("template.yaml", line, f'refinement of "{var}" must be a mapping')
        unknown = set(refine) - REFINEMENT_KEYS
        if unknown:
            raise TemplateError(
                "template.yaml",
                line,
                f'unknown refinement keys for "{var}": {", ".join(sorted(unknown))}',
            )
        prop = properties[var]
        for key, value in refine.items():
            if key == "help":
                prop["x-help"] = str(value)
            elif key == "order":
                prop["x-order"] = int(value)
            elif key == "placeholder":
                prop["x-placeholder"] = str(value)
            elif key == "error_message":
                # Shown instead of any generated sentence when this parameter is refused.
                prop["x-error-message"] = str(value)
            elif key == "from_resource":
                # The value may come from an output of one of the team's resources.
                if prop.get("x-sensitive"):
                    raise TemplateError(
                        "template.yaml", line, f'"{var}" is sensitive: it cannot take an output'
                    )
                try:
                    prop.update(resource_ref_keywords(value))
                except RefinementError as exc:
                    raise TemplateError("template.yaml", line, f'"{var}": {exc}') from exc
            else:
                prop[key] = value


def _outputs(files: dict[str, str]) -> list[dict[str, Any]]:
    outputs = []
    for name, text in files.items():
        if not name.endswith(".tf") or "/" in name:
            continue
        for out, body in _blocks(_parse_hcl(name, text), "output"):
            outputs.append(
                {
                    "name": out,
                    "description": str(body.get("description") or ""),
                    "sensitive": body.get("sensitive") is True,
                }
            )
    return sorted(outputs, key=lambda o: o["name"])


def build_schema(slug: str, files: dict[str, str], metadata: dict[str, Any]) -> tuple[dict, list]:
    """The parameters JSON Schema and the platform variables the module declares."""
    variables, where = _variables(files)
    properties: dict[str, dict[str, Any]] = {}
    required: list[str] = []
    platform: list[str] = []
    for var, body in variables.items():
        var_schema = _variable_schema(var, body, where[var], files[where[var]])
        if var in PLATFORM_VARIABLES:
            platform.append(var)
            continue
        properties[var] = var_schema
        if "default" not in body:
            required.append(var)
    _apply_refinements(properties, metadata, files)
    declared = list(properties)
    ordered = OrderedDict(
        sorted(
            properties.items(), key=lambda kv: (kv[1].get("x-order", 1000), declared.index(kv[0]))
        )
    )
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": str(metadata.get("title") or humanize(slug)),
        "type": "object",
        "properties": dict(ordered),
        "required": [name for name in ordered if name in required],
        "additionalProperties": False,
    }
    return schema, sorted(platform)


def _policy_value(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 1 <= value <= 5
    return value in ("none", "required", "admin")


def _check_metadata(metadata: dict[str, Any]) -> None:
    policy = metadata.get("approval_policy", {}) or {}
    if not isinstance(policy, dict) or not all(_policy_value(v) for v in policy.values()):
        raise TemplateError(
            "template.yaml",
            None,
            "approval_policy maps environment -> 'none' | 'required' | 'admin' | a number of "
            "approvals (1-5); it can add to the environment's rule, never remove it",
        )
    envs = metadata.get("allowed_environments", []) or []
    if not isinstance(envs, list) or not all(isinstance(e, str) for e in envs):
        raise TemplateError("template.yaml", None, "allowed_environments must be a list of slugs")


_CACHE: OrderedDict[str, ParsedTemplate] = OrderedDict()
_CACHE_SIZE = 256


def parse_template(slug: str, files: dict[str, str]) -> ParsedTemplate:
    """Parse a module's files (cached by content hash); raises TemplateError."""
    digest = content_hash(files)
    cached = _CACHE.get(digest)
    if cached is not None and cached.slug == slug:
        _CACHE.move_to_end(digest)
        return cached
    if "variables.tf" not in files:
        raise TemplateError("variables.tf", None, "missing")
    metadata = _load_metadata(files)
    _check_metadata(metadata)
    schema, platform = build_schema(slug, files, metadata)
    parsed = ParsedTemplate(
        slug=slug,
        content_hash=digest,
        files=files,
        metadata=metadata,
        parameters_schema=schema,
        outputs=_outputs(files),
        readme=files.get("README.md", ""),
        approval_policy={
            str(k): (v if isinstance(v, int) else str(v))
            for k, v in (metadata.get("approval_policy") or {}).items()
        },
        cost_hints=dict(metadata.get("cost_hints") or {}),
        alarms=list(metadata.get("alarms") or []),
        allowed_environments=list(metadata.get("allowed_environments") or []),
        platform_variables=platform,
    )
    _CACHE[digest] = parsed
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return parsed


def parse_cache_info() -> int:
    return len(_CACHE)


def load_template(folder: Path) -> ParsedTemplate:
    """Read and parse one template folder."""
    if not valid_slug(folder.name):
        raise TemplateError(folder.name, None, "folder name must match ^[a-z0-9-]+$")
    return parse_template(folder.name, read_files(folder))
