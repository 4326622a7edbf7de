"""The live contract run's one refinement of schemathesis's checks (loaded by SCHEMATHESIS_HOOKS).

`positive_data_acceptance` expects every schema-valid request to succeed. A schema can say
"a team slug", not "a team that exists": a request naming an unknown team, template, user or
version is valid by the schema and still bad input (400 naming the field); so are template
parameters, which each template's schema checks. This check is schemathesis's own, except that
such a 400 passes when every field it names is a reference or a template parameter.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

# Fields that name another object (by slug, name, number or tag).
REFERENCES = {
    "environment",
    "environments",
    "resource",
    "service",
    "target_version",
    "team",
    "template",
    "username",
    "version",
}


def _names_only_references(response: Any) -> bool:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return False
    # `parameters.<name>`: checked against the template's own schema, which the API's cannot hold.
    return (
        isinstance(detail, dict)
        and bool(detail)
        and all(key in REFERENCES or key.startswith("parameters.") for key in detail)
    )


@schemathesis.check
def positive_data_acceptance_of_known_references(ctx: Any, response: Any, case: Any) -> bool | None:
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 400 and _names_only_references(response):
            return None
        raise
