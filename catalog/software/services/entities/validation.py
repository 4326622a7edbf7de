"""Parsing a (multi-document) catalog-info.yaml and checking each document against
Backstage's descriptor schemas (catalog/software/schemas/*.json, from Backstage's catalog-model)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from .. import docs_remote
from .refs import DEFAULT_NAMESPACE, RefError, entity_ref, spec_refs

TECHDOCS_REF = docs_remote.TECHDOCS_REF
SCHEMA_DIR = Path(__file__).resolve().parent.parent.parent / "schemas"
MAX_DOCUMENTS = 1000
MAX_CONTENT = 2_000_000  # characters


class _NoAliasLoader(yaml.SafeLoader):
    """Safe loading without anchors' aliases: a few nested aliases expand exponentially when
    validated (the "billion laughs"), and catalog files do not need them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                None, None, "aliases (*name) are not supported", event.start_mark
            )
        return super().compose_node(parent, index)


@dataclass
class DocumentError:
    """A problem of one document (1-based index) at one field path."""

    document: int
    field: str
    message: str
    ref: str = ""

    def __str__(self) -> str:
        where = f"document {self.document}" + (f" ({self.ref})" if self.ref else "")
        return (
            f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "ref": self.ref,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class EntityDocument:
    """One valid document, normalised: what an Entity row is written from."""

    document: int
    kind: str
    namespace: str
    name: str
    metadata: dict[str, Any]
    spec: dict[str, Any]
    owner_ref: str = ""
    relations: list[tuple[str, str, str]] = field(default_factory=list)  # (path, type, ref)

    @property
    def ref(self) -> str:
        return entity_ref(self.kind, self.namespace, self.name)


_PATTERN_WORDS = {
    "^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$": (
        "use letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
    ),
    "^[a-z0-9]+(?:-+[a-z0-9]+)*$": "use lower-case letters, digits and '-' (a DNS label)",
    "^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$": (
        "use lower-case letters, digits, ':', '+' and '#', words joined by single '-'"
    ),
}


@cache
def _validator(name: str) -> Draft7Validator:
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def envelope_validator() -> Draft7Validator:
    return _validator("Entity.schema.json")


def spec_validator(kind: str) -> Draft7Validator:
    return _validator(f"{kind}.v1alpha1.schema.json")


def _path(error: ValidationError, prefix: str = "") -> str:
    parts = [prefix] if prefix else []
    for part in error.absolute_path:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
        else:
            parts.append(str(part))
    return ".".join(parts)


def _message(error: ValidationError) -> tuple[str, str]:
    """(extra path, words) for one schema error."""
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else ""
        return missing, "required"
    if error.validator == "pattern":
        pattern = str(error.validator_value)
        rule = _PATTERN_WORDS.get(pattern, f"must match {pattern}")
        return "", f"{error.instance!r}: {rule}"
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)  # type: ignore[union-attr]
        return "", f"{error.instance!r} is not one of {allowed}"
    if error.validator == "type":
        return (
            "",
            f"must be {'an' if error.validator_value in ('object', 'array') else 'a'} "
            f"{error.validator_value}",
        )
    if error.validator == "maxLength":
        return "", f"at most {error.validator_value} characters"
    if error.validator == "minLength":
        return "", "must not be empty"
    return "", error.message


def _errors(
    validator: Draft7Validator, data: Any, index: int, prefix: str, ref: str
) -> list[DocumentError]:
    out = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        extra, words = _message(error)
        path = _path(error, prefix)
        path = f"{path}.{extra}" if path and extra else path or extra
        out.append(DocumentError(index, path, words, ref))
    return out


def parse_documents(content: str) -> tuple[list[EntityDocument], list[DocumentError]]:
    """Every document of `content`, validated; errors name the document (1-based) and field."""
    if len(content) > MAX_CONTENT:
        return [], [DocumentError(1, "", f"at most {MAX_CONTENT} characters")]
    try:
        raw = [doc for doc in yaml.load_all(content, Loader=_NoAliasLoader) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        # The document it is in: separators before the line (a leading one opens document 1).
        lines = content.splitlines()[: mark.line] if mark else []
        index = max(
            1,
            sum(1 for line in lines if line.startswith("---"))
            + (0 if lines and lines[0].startswith("---") else 1),
        )
        return [], [DocumentError(index, "", f"not valid YAML{where}: {problem}")]
    if not raw:
        return [], [DocumentError(1, "", "no documents found")]
    if len(raw) > MAX_DOCUMENTS:
        return [], [DocumentError(MAX_DOCUMENTS + 1, "", f"at most {MAX_DOCUMENTS} documents")]
    documents: list[EntityDocument] = []
    errors: list[DocumentError] = []
    seen: dict[str, int] = {}
    for index, data in enumerate(raw, start=1):
        doc, doc_errors = _one(data, index)
        errors.extend(doc_errors)
        if doc is None:
            continue
        if doc.ref in seen:
            errors.append(
                DocumentError(
                    index, "metadata.name", f"{doc.ref} is also document {seen[doc.ref]}", doc.ref
                )
            )
            continue
        seen[doc.ref] = index
        documents.append(doc)
    return documents, errors


def _one(data: Any, index: int) -> tuple[EntityDocument | None, list[DocumentError]]:
    if not isinstance(data, dict):
        return None, [
            DocumentError(index, "", "must be a mapping (apiVersion, kind, metadata, spec)")
        ]
    metadata: dict[str, Any] = data["metadata"] if isinstance(data.get("metadata"), dict) else {}
    kind = data.get("kind")
    name = metadata.get("name")
    namespace = metadata.get("namespace") or DEFAULT_NAMESPACE
    ref = (
        entity_ref(kind, namespace, name) if isinstance(kind, str) and isinstance(name, str) else ""
    )
    errors = _errors(envelope_validator(), data, index, "", ref)
    if errors:
        return None, errors
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else None
    if spec is None:
        return None, [DocumentError(index, "spec", "required", ref)]
    # The envelope schema passed: kind and name are strings.
    kind, name = str(kind), str(name)
    errors = _errors(spec_validator(kind), spec, index, "spec", ref)
    if errors:
        return None, errors
    try:
        relations = spec_refs(kind, spec)
    except RefError as exc:
        path, _, words = str(exc).partition(": ")
        return None, [DocumentError(index, path, words, ref)]
    ref_error = _techdocs_ref_error(metadata)
    if ref_error:
        return None, [DocumentError(index, f"metadata.annotations.{TECHDOCS_REF}", ref_error, ref)]
    owner = next((target for path, _, target in relations if path == "spec.owner"), "")
    clean_meta = {
        key: metadata[key]
        for key in ("title", "description", "labels", "annotations", "tags", "links")
        if key in metadata
    }
    return EntityDocument(
        index, kind, namespace, name, clean_meta, dict(spec), owner, relations
    ), []


def _techdocs_ref_error(metadata: dict[str, Any]) -> str:
    """Why the docs location a descriptor names is refused ('' when it is not): a docs build
    clones it on the worker, so only https/ssh to a public host (checked again at build)."""
    annotations = metadata.get("annotations")
    ref = annotations.get(TECHDOCS_REF) if isinstance(annotations, dict) else None
    if not isinstance(ref, str):
        return ""
    ref = ref.strip()
    if ref.startswith("dir:") or not ref:
        return ""
    if not ref.startswith("url:"):
        return "must be 'dir:<folder>' or 'url:<git URL>'"
    try:
        docs_remote.check_url(ref[4:].strip())
    except docs_remote.RemoteError as exc:
        return str(exc)
    return ""
