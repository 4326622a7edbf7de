"""Options per pipeline template: JSON Schemas, validation and defaults.

Validated like template parameters: errors come back per option as `options.<name>`.
"""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft202012Validator

from ..choices import PipelineTemplate

_VERSION = {"type": "string", "pattern": r"^[0-9][0-9A-Za-z.\-x]*$", "maxLength": 20}
_COMMAND = {"type": "string", "minLength": 1, "maxLength": 500, "pattern": r"^[^\n\r]+$"}
_BRANCH = {"type": "string", "pattern": r"^[A-Za-z0-9._/\-]+$", "maxLength": 100}

COMMON: dict[str, Any] = {
    "working_directory": {
        "type": "string",
        "title": "Working directory",
        "description": "Folder of the repository the pipeline builds, relative to its root",
        "pattern": r"^(\.|[A-Za-z0-9_\-][A-Za-z0-9_./\-]*)$",
        "not": {"pattern": r"(^|/)\.\.(/|$)"},
        "maxLength": 200,
        "default": ".",
    },
    "branches": {
        "type": "array",
        "title": "Branches",
        "description": "Pushes and pull requests to these run the pipeline; the first one deploys",
        "items": _BRANCH,
        "minItems": 1,
        "maxItems": 10,
        "uniqueItems": True,
        "default": ["main"],
    },
    "reviewers": {
        "type": "array",
        "title": "Production reviewers",
        "description": "GitHub users who must approve deployments to prod",
        "items": {"type": "string", "pattern": r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$"},
        "maxItems": 6,
        "uniqueItems": True,
        "default": [],
    },
}


def _schema(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "properties": {**copy.deepcopy(COMMON), **properties},
    }


def _cmd(title: str, default: str) -> dict[str, Any]:
    return {**_COMMAND, "title": title, "default": default}


SCHEMAS: dict[str, dict[str, Any]] = {
    PipelineTemplate.PYTHON: _schema(
        {
            "python_version": {**_VERSION, "title": "Python version", "default": "3.12"},
            "install_command": _cmd("Install command", "pip install -r requirements.txt"),
            "test_command": _cmd("Test command", "pytest"),
            "deploy_command": _cmd("Deploy command", './deploy.sh "$IDP_ENVIRONMENT"'),
        }
    ),
    PipelineTemplate.NODE: _schema(
        {
            "node_version": {**_VERSION, "title": "Node.js version", "default": "20"},
            "build_command": _cmd("Build command", "npm run build --if-present"),
            "test_command": _cmd("Test command", "npm test"),
            "deploy_command": _cmd("Deploy command", './deploy.sh "$IDP_ENVIRONMENT"'),
        }
    ),
    PipelineTemplate.GO: _schema(
        {
            "go_version": {**_VERSION, "title": "Go version", "default": "1.22"},
            "build_command": _cmd("Build command", "go build ./..."),
            "test_command": _cmd("Test command", "go test ./..."),
            "deploy_command": _cmd("Deploy command", './deploy.sh "$IDP_ENVIRONMENT"'),
        }
    ),
    PipelineTemplate.CONTAINER: _schema(
        {
            "ecr_repository": {
                "type": "string",
                "title": "ECR repository",
                "description": "Defaults to the service slug",
                "pattern": r"^[a-z0-9][a-z0-9._/\-]{1,255}$",
            },
            "dockerfile": {
                "type": "string",
                "title": "Dockerfile",
                "pattern": r"^[A-Za-z0-9_./\-]+$",
                "maxLength": 200,
                "default": "Dockerfile",
            },
            "scan_severity": {
                "type": "string",
                "title": "Fail the scan on",
                "enum": ["CRITICAL", "CRITICAL,HIGH", "CRITICAL,HIGH,MEDIUM"],
                "default": "CRITICAL,HIGH",
            },
        }
    ),
    PipelineTemplate.TERRAFORM: _schema(
        {
            "terraform_version": {**_VERSION, "title": "Terraform version", "default": "1.9.8"},
            "var_file_pattern": {
                "type": "string",
                "title": "Variables file per environment",
                "description": "{environment} is replaced by the environment slug",
                "pattern": r"^[A-Za-z0-9_./\-{}]+\.tfvars(\.json)?$",
                "default": "env/{environment}.tfvars",
            },
        }
    ),
    PipelineTemplate.STATIC_SITE: _schema(
        {
            "node_version": {**_VERSION, "title": "Node.js version", "default": "20"},
            "build_command": _cmd("Build command", "npm run build"),
            "test_command": _cmd("Test command", "npm test --if-present"),
            "output_directory": {
                "type": "string",
                "title": "Output directory",
                "pattern": r"^[A-Za-z0-9_\-][A-Za-z0-9_./\-]*$",
                "default": "dist",
            },
            "bucket_prefix": {
                "type": "string",
                "title": "Bucket prefix",
                "description": "Sites go to s3://<prefix>-<environment>; default: the service",
                "pattern": r"^[a-z0-9][a-z0-9.\-]{1,50}$",
            },
        }
    ),
}


def options_schema(template: str) -> dict[str, Any]:
    """The JSON Schema of a template's options (a copy: callers may not change ours)."""
    return copy.deepcopy(SCHEMAS[template])


def validate_options(template: str, options: Any) -> dict[str, list[str]]:
    """Errors as `options.<name>` -> messages; empty when the options are valid."""
    if not isinstance(options, dict):
        return {"options": ["Options must be an object."]}
    errors: dict[str, list[str]] = {}
    validator = Draft202012Validator(SCHEMAS[template])
    for error in sorted(validator.iter_errors(options), key=lambda e: list(e.path)):
        if error.validator == "additionalProperties":
            known = set(SCHEMAS[template]["properties"])
            for name in sorted(set(options) - known):
                errors.setdefault(f"options.{name}", []).append(
                    f"Unknown option for the {template} template."
                )
            continue
        name = str(error.path[0]) if error.path else "options"
        key = f"options.{name}" if error.path else "options"
        message = error.message
        if error.validator == "not":
            message = "Must stay inside the repository (no '..')."
        elif error.validator == "pattern":
            message = f"{error.instance!r} is not in the expected format."
        errors.setdefault(key, []).append(message)
    return errors


def with_defaults(template: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options with every unset one at its schema default."""
    result = {}
    for name, prop in SCHEMAS[template]["properties"].items():
        if name in options:
            result[name] = options[name]
        elif "default" in prop:
            result[name] = copy.deepcopy(prop["default"])
    return result
