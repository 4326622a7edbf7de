"""Every portal form shows an action's refusal the same way: beside the field it names."""

from __future__ import annotations

from django import forms

from idp.form_errors import add_service_error
from idp.services import Conflict, ServiceError


class RequestForm(forms.Form):
    name = forms.CharField(required=False)
    opt_python = forms.CharField(required=False)


class ParamsForm(forms.Form):
    replicas = forms.IntegerField(required=False)


class JSONForm(forms.Form):
    parameters = forms.JSONField(required=False)


def bound(form_class: type[forms.Form]) -> forms.Form:
    form = form_class(data={})
    assert form.is_valid()
    return form


def test_fields_nested_values_and_the_rest() -> None:
    request, params = bound(RequestForm), bound(ParamsForm)
    error = ServiceError(
        "refused",
        errors={
            "name": ["bad name"],
            "parameters.replicas": ["too many"],
            "options.python": ["unknown version"],
            "parameters.ghost": ["unknown parameter"],
            "version": ["no such version"],
        },
    )
    add_service_error(error, request, params, prefixes={"options": "opt_"})
    assert request.errors["name"] == ["bad name"]
    assert params.errors["replicas"] == ["too many"]
    assert request.errors["opt_python"] == ["unknown version"]
    assert request.non_field_errors() == ["parameters.ghost: unknown parameter", "no such version"]


def test_a_nested_value_goes_to_its_group_field_named() -> None:
    form = bound(JSONForm)
    add_service_error(ServiceError("x", errors={"parameters.replicas": ["too many"]}), form)
    assert form.errors["parameters"] == ["replicas: too many"]


def test_a_single_field_or_none_and_skipped_fields() -> None:
    request, params = bound(RequestForm), bound(ParamsForm)
    add_service_error(Conflict("taken", field="name"), request)
    add_service_error(ServiceError("busy"), request)
    assert request.errors["name"] == ["taken"] and request.non_field_errors() == ["busy"]
    add_service_error(
        ServiceError("x", errors={"parameters.replicas": ["again"]}),
        request,
        params,
        skip=["replicas"],
    )
    assert "replicas" not in params.errors
