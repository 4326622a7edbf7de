"""Terraform variables -> JSON Schema (draft 2020-12).

Types come from the variable's `type` expression; `validation` blocks become
JSON Schema keywords where their condition is a shape we recognise. The
engine still runs every validation at plan time, so an unrecognised condition
only means the form checks less up front, never that a bad value gets through.
"""

from __future__ import annotations

import json
import re
from typing import Any

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Variables the provisioning engine fills; they never appear in a request form.
PLATFORM_VARIABLES = ("idp_team", "idp_service", "idp_environment", "idp_resource")


class TypeSyntaxError(ValueError):
    """A variable `type` expression we cannot read."""


def _strip_interp(text: str) -> str:
    text = text.strip()
    if text.startswith("${") and text.endswith("}"):
        return text[2:-1].strip()
    return text


class _TypeParser:
    """A small recursive-descent reader for Terraform type constraints."""

    _token = re.compile(r"\s*(\w+|[(){}\[\],=]|\"(?:[^\"\\]|\\.)*\"|-?\d+(?:\.\d+)?)")

    def __init__(self, text: str):
        self.tokens: list[str] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = self._token.match(text, pos)
            if not match:
                raise TypeSyntaxError(f"cannot read type near {text[pos : pos + 20]!r}")
            self.tokens.append(match.group(1))
            pos = match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.pos = 0

    def peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if not token or (expected is not None and token != expected):
            raise TypeSyntaxError(f"expected {expected or 'a token'}, found {token or 'the end'!r}")
        self.pos += 1
        return token

    def parse(self) -> dict[str, Any]:
        schema = self.type_expr()
        if self.peek():
            raise TypeSyntaxError(f"unexpected {self.peek()!r} after the type")
        return schema

    def type_expr(self) -> dict[str, Any]:
        name = self.take()
        if name == "string":
            return {"type": "string"}
        if name == "number":
            return {"type": "number"}
        if name == "bool":
            return {"type": "boolean"}
        if name == "any":
            return {}
        if name in ("list", "set", "map"):
            self.take("(")
            inner = self.type_expr()
            self.take(")")
            if name == "map":
                return {"type": "object", "additionalProperties": inner}
            schema: dict[str, Any] = {"type": "array", "items": inner}
            if name == "set":
                schema["uniqueItems"] = True
            return schema
        if name == "tuple":
            self.take("(")
            self.take("[")
            items = []
            while self.peek() != "]":
                items.append(self.type_expr())
                if self.peek() == ",":
                    self.take(",")
            self.take("]")
            self.take(")")
            return {
                "type": "array",
                "prefixItems": items,
                "minItems": len(items),
                "maxItems": len(items),
            }
        if name == "object":
            return self.object_expr()
        raise TypeSyntaxError(f"unknown type {name!r}")

    def object_expr(self) -> dict[str, Any]:
        self.take("(")
        self.take("{")
        properties: dict[str, Any] = {}
        required: list[str] = []
        while self.peek() != "}":
            key = self.take().strip('"')
            self.take("=")
            if self.peek() == "optional":
                self.take("optional")
                self.take("(")
                properties[key] = self.type_expr()
                if self.peek() == ",":
                    self.take(",")
                    default = self.literal()
                    if default is not None:
                        properties[key]["default"] = default
                self.take(")")
            else:
                properties[key] = self.type_expr()
                required.append(key)
            if self.peek() == ",":
                self.take(",")
        self.take("}")
        self.take(")")
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if required:
            schema["required"] = required
        return schema

    def literal(self) -> Any:
        token = self.take()
        if token in ("true", "false"):
            return token == "true"
        if token == "null":
            return None
        if token.startswith('"') or re.fullmatch(r"-?\d+(\.\d+)?", token):
            return json.loads(token)
        if token in ("[", "{"):
            # Complex optional defaults are applied by Terraform itself; skip them here.
            depth = 1
            while depth:
                nxt = self.take()
                depth += nxt in ("[", "{", "(")
                depth -= nxt in ("]", "}", ")")
            return None
        raise TypeSyntaxError(f"cannot read the default {token!r}")


def type_to_schema(type_expr: str | None) -> dict[str, Any]:
    """JSON Schema of a Terraform type constraint (`None`: any type)."""
    if not type_expr:
        return {}
    return _TypeParser(_strip_interp(type_expr)).parse()


def _split_top(text: str, sep: str) -> list[str]:
    """Split `text` on `sep` outside brackets and strings."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        char = text[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i].strip())
            start = i + len(sep)
            i += len(sep) - 1
        i += 1
    parts.append(text[start:].strip())
    return parts


_NUM = r"(-?\d+(?:\.\d+)?)"
_OPS = {">=": "minimum", ">": "exclusiveMinimum", "<=": "maximum", "<": "exclusiveMaximum"}
_FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">"}


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _clause_keywords(clause: str, var: str, kind: str | None) -> dict[str, Any] | None:
    """JSON Schema keywords for one `&&` clause of a condition, or None if not recognised."""
    ref = rf"var\.{re.escape(var)}"
    clause = clause.strip()
    while (
        clause.startswith("(") and clause.endswith(")") and len(_split_top(clause[1:-1], ")")) == 1
    ):
        clause = clause[1:-1].strip()
    match = re.fullmatch(rf'can\(\s*regex\(\s*("(?:[^"\\]|\\.)*")\s*,\s*{ref}\s*\)\s*\)', clause)
    if match:
        return {"pattern": json.loads(match.group(1))}
    match = re.fullmatch(rf"contains\(\s*(\[.*\])\s*,\s*{ref}\s*\)", clause, re.S)
    if match:
        try:
            values = json.loads(match.group(1))
        except json.JSONDecodeError:
            return None
        return {"enum": values} if isinstance(values, list) and values else None
    match = re.fullmatch(rf"{ref}\s*(>=|<=|>|<)\s*{_NUM}", clause)
    if match:
        return {_OPS[match.group(1)]: _number(match.group(2))}
    flipped = re.fullmatch(rf"{_NUM}\s*(>=|<=|>|<)\s*{ref}", clause)
    if flipped:
        return {_OPS[_FLIP[flipped.group(2)]]: _number(flipped.group(1))}
    match = re.fullmatch(rf"floor\(\s*{ref}\s*\)\s*==\s*{ref}", clause)
    if match:
        return {"type": "integer"}
    match = re.fullmatch(rf"length\(\s*{ref}\s*\)\s*(>=|<=|>|<|==)\s*(\d+)", clause)
    if match:
        op, size = match.group(1), int(match.group(2))
        bounds = {
            ">=": ("min", size),
            ">": ("min", size + 1),
            "<=": ("max", size),
            "<": ("max", size - 1),
        }
        unit = "Length" if kind == "string" else "Items" if kind == "array" else "Properties"
        if op == "==":
            return {f"min{unit}": size, f"max{unit}": size}
        side, value = bounds[op]
        return {f"{side}{unit}": value}
    return None


def validation_keywords(var: str, condition: str, kind: str | None) -> dict[str, Any] | None:
    """Keywords for a whole `validation.condition`; None unless every clause is recognised."""
    text = _strip_interp(condition)
    clauses = _split_top(text, "&&")
    # `var.x == null || <rule>` guards an optional variable: the rule applies when set.
    keywords: dict[str, Any] = {}
    for clause in clauses:
        alternatives = _split_top(clause, "||")
        empty_ok = False
        if len(alternatives) == 2 and re.fullmatch(
            rf"var\.{re.escape(var)}\s*==\s*null", alternatives[0]
        ):
            clause = alternatives[1]
        elif len(alternatives) == 2 and re.fullmatch(
            rf'var\.{re.escape(var)}\s*==\s*""', alternatives[0]
        ):
            clause, empty_ok = alternatives[1], True
        elif len(alternatives) > 1:
            return None
        found = _clause_keywords(clause, var, kind)
        if found is not None and empty_ok:
            if set(found) != {"pattern"}:
                return None
            # `var.x == "" || can(regex(P, var.x))`: empty, or matching P.
            found = {"pattern": f"^$|{found['pattern']}"}
        if found is None:
            return None
        keywords.update(found)
    return keywords


def humanize(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


# --- parameters that take another resource's output ------------------------------------

# The JSON Schema mark of a parameter whose value may come from an output of one of the
# team's resources of another template (template.yaml `from_resource`).
RESOURCE_REF = "x-idp-resource-ref"
REFERENCE_KEYS = {"resource", "name", "output"}


class RefinementError(ValueError):
    """A `from_resource` refinement that cannot be read."""


def resource_ref_keywords(value: Any) -> dict[str, Any]:
    """The schema mark of a `from_resource: {template, output, literal, cross_environment}`
    refinement (`cross_environment: true` lets the upstream be in another environment)."""
    if not isinstance(value, dict):
        raise RefinementError("from_resource must be a mapping with template and output")
    unknown = set(value) - {"template", "output", "literal", "cross_environment"}
    if unknown:
        raise RefinementError(f"unknown from_resource keys: {', '.join(sorted(unknown))}")
    template, output = value.get("template"), value.get("output")
    if not isinstance(template, str) or not re.fullmatch(r"[a-z0-9-]{1,63}", template):
        raise RefinementError("from_resource.template must be a template slug")
    if not isinstance(output, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", output):
        raise RefinementError("from_resource.output must be an output name")
    literal = value.get("literal", True)
    if not isinstance(literal, bool):
        raise RefinementError("from_resource.literal must be true or false")
    cross = value.get("cross_environment", False)
    if not isinstance(cross, bool):
        raise RefinementError("from_resource.cross_environment must be true or false")
    mark = {"template": template, "output": output, "literal": literal}
    return {RESOURCE_REF: {**mark, "cross_environment": True} if cross else mark}


def resource_ref(prop: Any) -> dict[str, Any] | None:
    """The `from_resource` mark of one schema property (None: a plain parameter)."""
    ref = prop.get(RESOURCE_REF) if isinstance(prop, dict) else None
    return ref if isinstance(ref, dict) else None


def is_reference(value: Any) -> bool:
    """Whether a parameter value names a resource (`{"resource": <id or name>}`) instead of
    being the value itself."""
    return isinstance(value, dict) and "resource" in value and set(value) <= REFERENCE_KEYS
