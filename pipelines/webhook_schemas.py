"""The shape of each GitHub webhook event the platform reads: one JSON Schema per event.

A signed body is still input: a sender holding the secret (or a GitHub change) can send
`"repository": 5`, which the handlers would meet as an AttributeError (a 500). Each schema
types exactly the keys the handlers read (what GitHub documents for them, nullable where
GitHub sends null) and leaves every other key alone, so GitHub adding keys changes
nothing. The values themselves (ids in range, dates that parse) are checked by the
handlers (pipelines/runs.py), with the same field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from idp.services import ServiceError

Schema = dict[str, Any]


def _obj(properties: Mapping[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    return {"type": "object", "properties": dict(properties), "required": list(required)}


TEXT: Schema = {"type": "string"}
TEXT_OR_NULL: Schema = {"type": ["string", "null"]}
# Ids and counts: a JSON integer or its digits (runs.py checks the range and the digits).
WHOLE: Schema = {"type": ["integer", "string"]}
WHOLE_OR_NULL: Schema = {"type": ["integer", "string", "null"]}
ACTOR: Schema = {"type": ["object", "null"], "properties": {"login": TEXT_OR_NULL}}

# The repository an event came from: pipelines are looked up by its full name.
REPOSITORY: Schema = _obj({"full_name": {"type": "string", "minLength": 1}}, ("full_name",))

WORKFLOW_RUN: Schema = _obj(
    {
        "repository": REPOSITORY,
        "workflow_run": _obj(
            {
                "id": WHOLE,
                "run_attempt": WHOLE_OR_NULL,
                "run_number": WHOLE_OR_NULL,
                **dict.fromkeys(
                    ("path", "name", "status", "conclusion", "event", "head_branch"),
                    TEXT_OR_NULL,
                ),
                **dict.fromkeys(("head_sha", "html_url"), TEXT_OR_NULL),
                **dict.fromkeys(("run_started_at", "created_at", "updated_at"), TEXT_OR_NULL),
                "actor": ACTOR,
                "triggering_actor": ACTOR,
            },
            ("id",),
        ),
    },
    ("repository", "workflow_run"),
)

WORKFLOW_JOB: Schema = _obj(
    {
        "repository": REPOSITORY,
        "workflow_job": _obj(
            {
                "run_id": WHOLE,
                "run_attempt": WHOLE_OR_NULL,
                "name": TEXT,
                "workflow_name": TEXT_OR_NULL,
                **dict.fromkeys(("status", "conclusion", "head_sha", "head_branch"), TEXT_OR_NULL),
                **dict.fromkeys(("html_url", "started_at", "completed_at"), TEXT_OR_NULL),
            },
            ("run_id", "name"),
        ),
    },
    ("repository", "workflow_job"),
)

PULL_REQUEST: Schema = _obj(
    {
        "action": TEXT,
        "repository": REPOSITORY,
        "pull_request": _obj(
            {
                "number": {"type": "integer"},
                "merged": {"type": ["boolean", "null"]},
                "html_url": TEXT_OR_NULL,
                "head": _obj({"ref": TEXT}, ("ref",)),
            },
            ("number", "head"),
        ),
    },
    ("action", "repository", "pull_request"),
)

# What the push listeners read (catalog discovery and template sources).
PUSH: Schema = _obj(
    {
        "ref": TEXT,
        "repository": _obj(
            {
                **dict.fromkeys(
                    ("clone_url", "ssh_url", "git_url", "html_url", "url", "svn_url"),
                    TEXT_OR_NULL,
                ),
                **dict.fromkeys(("default_branch", "master_branch", "full_name"), TEXT_OR_NULL),
                "owner": {
                    "type": ["object", "null"],
                    "properties": {"login": TEXT_OR_NULL, "name": TEXT_OR_NULL},
                },
            }
        ),
    },
    ("ref", "repository"),
)

SCHEMAS: dict[str, Schema] = {
    "workflow_run": WORKFLOW_RUN,
    "workflow_job": WORKFLOW_JOB,
    "pull_request": PULL_REQUEST,
    "push": PUSH,
}
VALIDATORS = {event: Draft202012Validator(schema) for event, schema in SCHEMAS.items()}
for _validator in VALIDATORS.values():
    Draft202012Validator.check_schema(_validator.schema)

TYPE_NAMES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "null",
}
MAX_ERRORS = 20


def _expected(types: Any) -> str:
    names = [TYPE_NAMES.get(t, t) for t in ([types] if isinstance(types, str) else types)]
    return f"Expected {' or '.join(names)}."


def _field_errors(error: ValidationError) -> list[tuple[str, str]]:
    """(field, message) pairs of one error; the message never repeats the value sent."""
    where = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        wanted: list[str] = list(error.validator_value)  # type: ignore[arg-type]
        return [
            (f"{where}.{name}" if where else name, "This field is required.")
            for name in wanted
            if name not in instance
        ]
    if error.validator == "type":
        return [(where, _expected(error.validator_value))]
    if error.validator == "minLength":
        return [(where, "This field may not be blank.")]
    return [(where, "Not a value GitHub sends here.")]


def check_payload(event: str, payload: Any) -> None:
    """Raise ServiceError (400, field -> messages) when `payload` is not the shape of a
    GitHub `event`; events without a schema are not read, so not judged."""
    validator = VALIDATORS.get(event)
    if validator is None:
        return
    errors: dict[str, list[str]] = {}
    for error in sorted(
        validator.iter_errors(payload), key=lambda e: [str(p) for p in e.absolute_path]
    ):
        for field, message in _field_errors(error):
            errors.setdefault(field or "non_field_errors", []).append(message)
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise ServiceError("The payload is not the shape GitHub sends.", errors=errors)
