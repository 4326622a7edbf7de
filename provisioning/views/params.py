"""The change-parameters form: the catalog's schema-built form (a JSON textarea for a
template without declared parameters), pre-filled from the change's base."""

from __future__ import annotations

from typing import Any

from catalog import sensitivity
from catalog.forms import Candidates, ParametersForm

from ..actions import proposals
from ..actions.dependencies import candidates
from ..forms import JSONParametersForm
from ..models import Resource


class SchemaParametersForm:
    """The catalog's ParametersForm with the `new_parameters()` the views call."""

    def __init__(self, form: ParametersForm) -> None:
        self.form = form

    def __getattr__(self, name: str) -> Any:
        return getattr(self.form, name)

    def __iter__(self) -> Any:
        return iter(self.form)

    def new_parameters(self) -> dict[str, Any]:
        return dict(self.form.parameters())


def parameters_form(resource: Resource, data: Any = None, *, user: Any = None) -> Any:
    """The form for new parameters, pre-filled with the non-sensitive values of what the
    change starts from (the proposal awaiting approval, else what is applied)."""
    start = proposals.base(resource)
    secret = set(sensitivity.sensitive_names(start.version))
    initial = {k: v for k, v in start.plain.items() if k not in secret}
    schema = start.version.parameters_schema or {}
    if schema.get("properties"):
        form = ParametersForm(
            schema, data=data, initial=initial, candidates=resource_candidates(user)
        )
        return SchemaParametersForm(form)
    return JSONParametersForm(data, initial={"parameters": initial}, resource=resource)


def resource_candidates(user: Any) -> Candidates | None:
    """What the catalog's ParametersForm offers for a parameter taking another resource's
    output: the user's teams' live resources of that template (none without a user)."""
    if user is None:
        return None
    return lambda template_slug: candidates(user, template_slug)
