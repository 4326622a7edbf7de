"""The change-parameters form: the catalog's schema-built form, else a JSON textarea."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..api.presenters import sensitive_parameter_names
from ..forms import JSONParametersForm
from ..models import Resource

if TYPE_CHECKING:
    from catalog.forms import ParametersForm


def _catalog_form_class() -> Any:
    try:
        from catalog.forms import ParametersForm
    except ImportError:  # the catalog without a form builder: JSON it is
        return None
    return ParametersForm


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


def parameters_form(resource: Resource, data: Any = None) -> Any:
    """The form for new parameters, pre-filled with the current non-sensitive ones."""
    secret = sensitive_parameter_names(resource.template_version)
    initial = {k: v for k, v in (resource.parameters or {}).items() if k not in secret}
    form_class = _catalog_form_class()
    schema = resource.template_version.parameters_schema or {}
    if form_class is not None and schema.get("properties"):
        return SchemaParametersForm(form_class(schema, data=data, initial=initial))
    return JSONParametersForm(data, initial={"parameters": initial}, resource=resource)
