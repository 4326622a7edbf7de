"""The live contract run's one refinement of schemathesis's checks (loaded by SCHEMATHESIS_HOOKS).

`positive_data_acceptance` expects every schema-valid request to succeed. The schema states
every rule it can (types, enums, ranges, patterns, required fields, for PATCH too); a few rules
it cannot hold, and a request breaking one of them is valid by the schema and still bad input
(400 naming the field):
- a reference to another object: "a team slug" is a pattern, "a team that exists" is not;
  template parameters are checked against each template's own schema;
- each rule in RULES below, narrowed to its operations, its field and its message.
This check is schemathesis's own, except that such a 400 passes when every field it names is
a reference or breaks one of those rules. Any other 400 on schema-valid data still fails.
An `Idempotency-Key` is valid by the schema whatever request it was sent with before; the
generator sends the same few keys with many requests, and a key sent again with another
request is a 422 by design (docs/api.md): that 422 passes too.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

# Fields that name another object (by slug, name, number or tag).
REFERENCES = {
    "environment",
    "environments",
    "resource",
    "resources",
    "service",
    "target_version",
    "team",
    "teams",
    "template",
    "username",
    "version",
}


class Rule(NamedTuple):
    operations: frozenset[str]  # "METHOD /path" as the schema spells it
    field: str  # the field the 400 names; a trailing "*" matches by prefix
    message: str  # what the message starts with
    why: str  # why the schema cannot say it


def _ops(*names: str) -> frozenset[str]:
    return frozenset(names)


TOKENS = _ops("POST /api/v1/tokens/", "POST /api/v1/teams/{slug}/service-accounts/{name}/tokens/")
SERVICES = _ops(
    "POST /api/v1/services/", "PUT /api/v1/services/{slug}/", "PATCH /api/v1/services/{slug}/"
)
RULES = (
    Rule(
        _ops("POST /api/v1/resources/"),
        "expires_at",
        "",
        "an expiry lies after now (the clock's, not the schema's) and only where the "
        "environment allows one",
    ),
    Rule(
        _ops("GET /api/v1/costs/"),
        "start",
        "Give a start before the end",
        "start <= end, at most 366 days apart: a rule between two parameters (end defaults "
        "to today)",
    ),
    Rule(
        TOKENS,
        "expires_in",
        "A token may last at most",
        "the longest lifetime is a platform setting (IDP_TOKEN_MAX_DAYS), counted in the "
        "unit the value names",
    ),
    Rule(
        TOKENS,
        "scopes",
        "This token cannot have the",
        "which scopes a token may carry depends on its owner (scim: the SCIM service user)",
    ),
    Rule(
        _ops("POST /api/v1/catalog/import/"),
        "document *",
        "",
        "the content is YAML descriptors, checked like template parameters: their own schema",
    ),
    Rule(
        _ops("POST /api/v1/catalog/locations/"),
        "target",
        "A local path must be absolute",
        "which target form fits depends on `type` (git: a URL or path)",
    ),
    Rule(
        _ops("POST /api/v1/catalog/locations/"),
        "target",
        "A GitHub organisation's login",
        "which target form fits depends on `type` (github-org: a login)",
    ),
    Rule(
        _ops("POST /api/v1/template-sources/"),
        "ref_pattern",
        "A",  # "A tag pattern such as v*…", "A branch channel names one branch…"
        "no `..`, and a branch is one name without wildcards: rules between ref_type and the "
        "pattern, and lookarounds the schema's regex does not have",
    ),
    Rule(
        _ops("POST /api/v1/template-sources/"),
        "paths",
        "",
        "no `.` or `..` part (a lookaround the schema's regex does not have)",
    ),
    Rule(
        _ops("POST /api/v1/template-sources/"),
        "signing_key",
        "An armored GPG public key",
        "the key's own format (an armored GPG key or SSH allowed-signers lines)",
    ),
    Rule(
        SERVICES,
        "repository_url",
        "Enter a valid URL",
        "Django's URL validator (a dotted host with a TLD of letters) is narrower than RFC "
        "3986's `uri`",
    ),
    Rule(
        SERVICES,
        "links",
        "",  # the item's url, as above
        "Django's URL validator (http(s), a dotted host with a TLD) is narrower than `uri`",
    ),
    Rule(
        _ops("POST /api/v1/fleet-upgrades/"),
        "waves",
        "",
        "waves name environments (references), each once, covering every environment of the "
        "selected resources, and never beside percentages: rules over stored data and "
        "between fields",
    ),
    Rule(
        _ops("POST /api/v1/fleet-upgrades/"),
        "percentages",
        "Percentages must rise",
        "cumulative percentages rise to exactly 100: a rule between the items",
    ),
    Rule(
        _ops("POST /api/v1/fleet-upgrades/"),
        "selection",
        "",
        "a selection must match live resources of the template in teams the caller maintains:"
        " stored data",
    ),
    Rule(
        _ops("PUT /api/v1/resources/{id}/access/"),
        "restricted_to*",
        "",
        "the people named must exist and be members of the owning team, and a restriction "
        "must name a role or someone: stored data and a rule between the fields",
    ),
    Rule(
        _ops("PUT /api/v1/resources/{id}/access/"),
        "shared_with*",
        "",
        "a share names a team (a reference) other than the owner: stored data",
    ),
    Rule(
        _ops("POST /api/v1/policies/whatif/"),
        "source",
        "",
        "the draft is Rego in the platform's namespace: its own language, like template "
        "parameters their own schema",
    ),
    Rule(
        _ops("POST /api/v1/alert-channels/"),
        "endpoint",
        "Give a valid",
        "the endpoint is an e-mail address or an https:// URL as `kind` says",
    ),
)


def _operation(case: Any) -> str:
    return f"{case.operation.method.upper()} {case.operation.path}"


def _named_field(key: str, rule: Rule) -> bool:
    if rule.field.endswith("*"):
        return key.startswith(rule.field[:-1])
    return key == rule.field


def _messages(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [m for item in value for m in _messages(item)]
    if isinstance(value, dict):
        return [m for item in value.values() for m in _messages(item)]
    return []


def _breaks_a_rule(operation: str, key: str, value: Any, case: Any) -> bool:
    if operation == "POST /api/v1/services/" and key == "slug":
        # No slug given: it is made from the name, which may hold no letter or digit.
        body = case.body if isinstance(case.body, dict) else {}
        if "slug" not in body:
            return True
    messages = _messages(value)
    return any(
        operation in rule.operations
        and _named_field(key, rule)
        and messages
        and all(m.startswith(rule.message) for m in messages)
        for rule in RULES
    )


def _understood(response: Any, case: Any) -> bool:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return False
    if not isinstance(detail, dict) or not detail:
        return False
    operation = _operation(case)
    # `parameters.<name>`: checked against the template's own schema, which the API's cannot hold.
    return all(
        key in REFERENCES
        or key.startswith("parameters.")
        or _breaks_a_rule(operation, key, value, case)
        for key, value in detail.items()
    )


@schemathesis.check
def positive_data_acceptance_of_known_references(ctx: Any, response: Any, case: Any) -> bool | None:
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 400 and _understood(response, case):
            return None
        if response.status_code == 422 and _key_used_before(response):
            return None
        raise


def _key_used_before(response: Any) -> bool:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return False
    return isinstance(detail, str) and detail.startswith("This Idempotency-Key was already used")
