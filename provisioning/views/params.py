"""The change-parameters form: the catalog's schema form when it offers one, else JSON."""

from __future__ import annotations

from typing import Any

from django import forms

from ..api.presenters import sensitive_parameter_names
from ..forms import JSONParametersForm
from ..models import Resource


class _SchemaFormAdapter:
    """Wraps the catalog's schema-built form so views can call `.new_parameters()`."""

    def __init__(self, form: forms.Form, resource: Resource) -> None:
        self._form = form
        self._resource = resource

    def __getattr__(self, name: str) -> Any:
        return getattr(self._form, name)

    def __iter__(self) -> Any:
        return iter(self._form)

    def __str__(self) -> str:
        return str(self._form)

    def new_parameters(self) -> dict[str, Any]:
        cleaned = dict(self._form.cleaned_data)
        # A blank sensitive input means "keep the stored value".
        for name in sensitive_parameter_names(self._resource.template_version):
            if cleaned.get(name) in ("", None):
                cleaned.pop(name, None)
        return cleaned


def _catalog_builder() -> Any:
    try:
        from catalog import forms as catalog_forms
    except ImportError:
        return None
    return getattr(catalog_forms, "ParametersForm", None) or getattr(
        catalog_forms, "parameters_form", None
    )


def parameters_form(resource: Resource, data: Any = None) -> Any:
    """The form for new parameters, pre-filled with the current non-sensitive ones."""
    initial = {
        k: v
        for k, v in (resource.parameters or {}).items()
        if k not in sensitive_parameter_names(resource.template_version)
    }
    builder = _catalog_builder()
    if builder is not None:
        try:
            form = builder(resource.template_version, data=data, initial=initial)
        except TypeError:
            form = None
        if isinstance(form, forms.Form):
            return _SchemaFormAdapter(form, resource)
    return JSONParametersForm(data, initial={"parameters": initial}, resource=resource)
