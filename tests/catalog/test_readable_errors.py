"""Parameter errors in words: the same sentence from the action, the API, the portal and the
CLI, mapped to the field, never a regex or a schema dump."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.services import resolve_version, sync_templates, validate_parameters
from catalog.services.messages import describe_pattern
from idp.services import ServiceError
from provisioning.models import Resource

from ..cli.conftest import CLI, one_error_line
from ..utils import assert_error

PATTERN = "^[A-Za-z0-9 ,.!?-]{1,100}$"
SENTENCE = "Use letters, digits, spaces and , . ! ? - (at most 100)"


@pytest.mark.parametrize(
    ("pattern", "sentence"),
    [
        (PATTERN, SENTENCE),
        ("^[a-z0-9-]{3,63}$", "Use lowercase letters, digits and - (3 to 63)"),
        ("^[A-Z]{2}$", "Use uppercase letters (exactly 2)"),
        ("^\\d+$", "Use digits"),
        ("^[a-z]{8,}$", "Use lowercase letters (at least 8)"),
        ("^.{0,5}$", "Use at most 5 characters"),
        (
            "^[a-z][a-z0-9_]{0,62}$",
            "Start with a lowercase letter, then use lowercase letters, digits and _ (at most 63)",
        ),
        (
            "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
            "Start with a lowercase letter or a digit and end with a lowercase letter or a "
            "digit; use lowercase letters, digits and . - in between (3 to 63)",
        ),
        ("^$|^[a-z]+$", "Use lowercase letters, or leave it empty"),
    ],
)
def test_simple_patterns_are_described(pattern: str, sentence: str) -> None:
    assert describe_pattern(pattern) == sentence


@pytest.mark.parametrize(
    "pattern",
    [
        "^vpc-[0-9a-f]+$",  # more than three parts
        "^arn:aws[a-z-]*:kms:",  # not anchored at the end
        "^(dev|prod)$",  # alternatives
        "^[^/]+$",  # a negated class
        "^[a-z]+?$",  # a lazy quantifier
        "^[[:alpha:]]+$",  # a POSIX class
    ],
)
def test_other_patterns_are_left_to_the_templates_words(pattern: str) -> None:
    assert describe_pattern(pattern) is None


VARIABLES = """
variable "vpc_id" {
  description = "The VPC to join, like vpc-0abc."
  type        = string
  default     = "vpc-0"
  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "A VPC id: vpc- and hex digits."
  }
}

variable "zone" {
  description = "The zone, e.g. a1."
  type        = string
  default     = "a1"
  validation {
    condition     = can(regex("^[a-z]{1,2}[0-9]?[a-z]?$", var.zone))
    error_message = ""
  }
}

variable "tier" {
  description = "Tier."
  type        = string
  default     = "gold"
  validation {
    condition     = contains(["gold", "silver"], var.tier)
    error_message = ""
  }
}

variable "size" {
  description = "Size."
  type        = number
  default     = 2
  validation {
    condition     = var.size >= 1 && var.size <= 5
    error_message = ""
  }
}

variable "nick" {
  description = "Nick."
  type        = string
  default     = "ab"
  validation {
    condition     = length(var.nick) <= 4
    error_message = ""
  }
}

variable "flag" {
  description = "Flag."
  type        = bool
  default     = false
}

variable "ports" {
  description = "Ports."
  type        = list(object({ port = number, cidr = string }))
  default     = []
}

variable "code" {
  description = "A code."
  type        = string
  default     = "AB"
  validation {
    condition     = can(regex("^[A-Z]{2}$", var.code))
    error_message = "Two capitals."
  }
}
"""
YAML = """title: Words
description: Every kind of rule.
category: testing
owner: payments
version: "0.1"
parameters:
  code:
    error_message: Two capital letters, like DE.
"""


@pytest.fixture
def words(db: None, teams: Any, write_template: Any) -> Any:
    write_template("words", {"variables.tf": VARIABLES, "template.yaml": YAML})
    report = sync_templates()
    assert report.ok, report.failed
    return resolve_version("words")


def _errors(version: Any, parameters: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(ServiceError) as exc:
        validate_parameters(version, parameters)
    assert exc.value.errors is not None
    return exc.value.errors


def test_every_kind_of_rule_reads_as_a_sentence(words: Any) -> None:
    errors = _errors(
        words,
        {
            "vpc_id": "subnet-1",
            "zone": "???",
            "tier": "bronze",
            "size": 9,
            "nick": "toolong",
            "flag": "yes",
            "ports": [{"port": "eighty", "cidr": "10.0.0.0/8"}, {"port": 22}],
            "code": "de",
            "colour": "red",
        },
    )
    assert errors == {
        # An undescribable pattern: the Terraform validation's own words.
        "parameters.vpc_id": ["A VPC id: vpc- and hex digits."],
        # No words from the template either: its description, never the regex.
        "parameters.zone": ["Use the format the template describes: The zone, e.g. a1"],
        "parameters.tier": ["Choose one of: gold, silver"],
        "parameters.size": ["Enter a number from 1 to 5"],
        "parameters.nick": ["This is too long: use at most 4 characters"],
        "parameters.flag": ["Choose true or false"],
        "parameters.ports": ['Item 1, key "port": enter a number', 'Item 2: add "cidr"'],
        # template.yaml's `error_message` wins over everything.
        "parameters.code": ["Two capital letters, like DE."],
        "parameters.colour": [
            "Unknown parameter: this template takes "
            "code, flag, nick, ports, size, tier, vpc_id, zone"
        ],
    }
    text = " ".join(m for messages in errors.values() for m in messages)
    for leak in ("^", "$", "[0-9", "is not of type", "does not match", "{'"):
        assert leak not in text, leak


def test_unknown_keys_in_an_object_are_named(words: Any) -> None:
    errors = _errors(words, {"ports": [{"port": 1, "cidr": "x", "proto": "tcp"}]})
    assert errors == {"parameters.ports": ['Item 1: unknown key "proto"; allowed keys: cidr, port']}


def test_required_parameter(db: None, teams: Any, write_template: Any) -> None:
    write_template("mini")
    assert sync_templates().ok
    assert _errors(resolve_version("mini"), {"size": "big"}) == {
        "parameters.size": ["Enter a number"]
    }
    # The Terraform validation's words for the rule they belong to.
    assert _errors(resolve_version("mini"), {"size": 7}) == {"parameters.size": ["1 to 5."]}
    assert _errors(resolve_version("mini"), {}) == {
        "parameters.size": ["This parameter is required"]
    }


# --- One sentence on every surface ----------------------------------------------------------

REQUEST = {
    "template": "example-config",
    "team": "payments",
    "environment": "dev",
    "name": "greeting",
}


def test_action_api_and_portal_say_the_same_sentence(
    synced: Any, environments: Any, alice: Any, api_as: Any, client_as: Any
) -> None:
    from provisioning.actions import request_resource

    with pytest.raises(ServiceError) as exc:
        request_resource(
            actor=alice,
            template="example-config",
            version=None,
            team="payments",
            environment="dev",
            name="greeting",
            parameters={"message": "héllo"},
        )
    assert exc.value.errors is not None
    assert exc.value.errors["parameters.message"] == [SENTENCE]

    response = api_as(alice).post(
        "/api/v1/resources/", {**REQUEST, "parameters": {"message": "héllo"}}, format="json"
    )
    body = assert_error(response, 400, "parameters.message")
    assert body["detail"]["parameters.message"] == [SENTENCE]
    assert PATTERN not in response.content.decode()

    page = client_as(alice).post(
        "/catalog/templates/example-config/request/",
        {"team": "payments", "environment": "dev", "name": "greeting", "p-message": "héllo"},
    )
    assert page.status_code == 400
    html = page.content.decode()
    field = html.split('id="field-p-message"')[1].split('<div class="field"')[0]
    assert SENTENCE in field and 'class="errorlist' in field
    assert PATTERN not in html and "does not match" not in html
    assert not Resource.objects.exists()


@pytest.mark.slow
def test_cli_says_the_same_sentence(
    live_server: Any,
    synced: Any,
    environments: Any,
    alice: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from idp import services

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    cli = CLI(live_server.url)
    token = services.create_api_token(alice, name="cli")[1]
    result = cli(
        "resources",
        "create",
        "-t",
        "example-config",
        "--team",
        "payments",
        "-e",
        "dev",
        "-n",
        "greeting",
        "-p",
        "message=héllo",
        token=token,
    )
    assert result.exit_code != 0
    # The message first, then where it came from.
    line = one_error_line(result)
    assert line == f"error: parameters.message: {SENTENCE} (400 on POST /api/v1/resources/)"
    assert not Resource.objects.exists()


def test_a_secret_value_never_shows_in_its_message(
    db: None, teams: Any, write_template: Any
) -> None:
    write_template(
        "vault",
        {
            "variables.tf": """
variable "secrets" {
  description = "Named secrets."
  type        = object({ token = string })
  sensitive   = true
}
"""
        },
    )
    assert sync_templates().ok
    errors = _errors(resolve_version("vault"), {"secrets": {"token": 1, "hunter2-key": "x"}})
    text = " ".join(errors["parameters.secrets"])
    assert "hunter2" not in text and "token" not in text
    assert sorted(errors["parameters.secrets"]) == [
        "Enter text",
        "Remove the keys this value does not take",
    ]
