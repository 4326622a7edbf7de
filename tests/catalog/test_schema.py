"""Terraform types and validation blocks -> JSON Schema keywords."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from catalog.services import type_to_schema, validation_keywords


@pytest.mark.parametrize(
    ("hcl", "schema"),
    [
        ("string", {"type": "string"}),
        ("number", {"type": "number"}),
        ("bool", {"type": "boolean"}),
        ("any", {}),
        ("${list(string)}", {"type": "array", "items": {"type": "string"}}),
        ("${set(number)}", {"type": "array", "items": {"type": "number"}, "uniqueItems": True}),
        ("${map(string)}", {"type": "object", "additionalProperties": {"type": "string"}}),
        (
            "${tuple([string, number])}",
            {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "number"}],
                "minItems": 2,
                "maxItems": 2,
            },
        ),
    ],
)
def test_simple_and_collection_types(hcl: str, schema: dict) -> None:
    assert type_to_schema(hcl) == schema
    Draft202012Validator.check_schema(schema)


def test_object_with_optional_attributes_and_defaults() -> None:
    schema = type_to_schema(
        "${object({name = string, size = optional(number, 3), tags = optional(map(string))})}"
    )
    assert schema == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "size": {"type": "number", "default": 3},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["name"],
        "additionalProperties": False,
    }
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"name": "a"})
    assert not validator.is_valid({"size": 1})
    assert not validator.is_valid({"name": "a", "other": 1})


def test_nested_list_of_objects() -> None:
    schema = type_to_schema("${list(object({port = number, cidr = string}))}")
    assert schema["items"]["required"] == ["port", "cidr"]


def test_unknown_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown type"):
        type_to_schema("strang")


@pytest.mark.parametrize(
    ("condition", "kind", "keywords"),
    [
        ('${can(regex("^[a-z]+$", var.x))}', "string", {"pattern": "^[a-z]+$"}),
        ('${can(regex("^\\\\d{3}$", var.x))}', "string", {"pattern": "^\\d{3}$"}),
        ('${contains(["a", "b"], var.x)}', "string", {"enum": ["a", "b"]}),
        ("${contains([1, 3, 5], var.x)}", "number", {"enum": [1, 3, 5]}),
        ("${var.x >= 1 && var.x <= 10}", "number", {"minimum": 1, "maximum": 10}),
        ("${var.x > 0 && var.x < 2.5}", "number", {"exclusiveMinimum": 0, "exclusiveMaximum": 2.5}),
        ("${10 >= var.x}", "number", {"maximum": 10}),
        ("${length(var.x) <= 20}", "string", {"maxLength": 20}),
        ("${length(var.x) >= 2 && length(var.x) <= 4}", "array", {"minItems": 2, "maxItems": 4}),
        ("${length(var.x) <= 5}", "object", {"maxProperties": 5}),
        ("${var.x == null || length(var.x) >= 8}", "string", {"minLength": 8}),
        ('${var.x == "" || can(regex("^arn:", var.x))}', "string", {"pattern": "^$|^arn:"}),
        ("${floor(var.x) == var.x}", "number", {"type": "integer"}),
    ],
)
def test_validation_blocks_map_to_keywords(condition: str, kind: str, keywords: dict) -> None:
    assert validation_keywords("x", condition, kind) == keywords


@pytest.mark.parametrize(
    "condition",
    [
        "${can(cidrhost(var.x, 0))}",
        "${var.x == 1 || var.x == 2}",
        "${var.y >= 1}",  # about another variable
        '${can(regex("^a", var.x)) && startswith(var.x, "ab")}',
    ],
)
def test_unrecognised_conditions_are_left_to_terraform(condition: str) -> None:
    assert validation_keywords("x", condition, "string") is None
