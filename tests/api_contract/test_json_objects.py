"""A field documented as a JSON object takes an object and nothing else, in every encoding.

`parameters: null` (or a list, a string, a number) once made a resource with no parameters:
a form-encoded body skipped the field, and the template check read `null` as "none given".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from catalog.services import sync_templates
from idp import services
from provisioning.models import Resource
from tests.utils import assert_error, assert_ok

REQUEST = {"template": "example-config", "team": "payments", "environment": "dev"}
NOT_OBJECTS = [None, [], ["message", "hi"], "x", "null", 5, True]


@pytest.fixture
def api(make_team: Any, bob: Any, api_as: Any) -> Any:
    """bob, a maintainer of payments, with the shipped catalog and a dev environment."""
    make_team("platform")
    assert sync_templates().ok
    services.upsert_environment("dev", name="Development", order=10)
    return api_as(bob)


@pytest.mark.parametrize("value", NOT_OBJECTS)
def test_resource_create_refuses_parameters_that_are_not_an_object(api: Any, value: Any) -> None:
    response = api.post("/api/v1/resources/", {**REQUEST, "name": "r1", "parameters": value})
    body = assert_error(response, 400, "parameters")
    assert "object" in str(body["detail"]["parameters"]).lower()
    assert not Resource.objects.exists()


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
@pytest.mark.parametrize("value", ["null", "[]", "x", '"text"', "5"])
def test_a_form_encoded_parameters_field_must_hold_a_json_object(
    api: Any, encoding: str, value: str
) -> None:
    fields = {**REQUEST, "name": "r1", "parameters": value}
    if encoding == "multipart":
        response = api.post("/api/v1/resources/", fields, format="multipart")
    else:
        form = urlencode(fields)
        response = api.post(
            "/api/v1/resources/", form, content_type="application/x-www-form-urlencoded"
        )
    assert_error(response, 400, "parameters")
    assert not Resource.objects.exists()


def test_a_form_encoded_parameters_object_is_read_as_json(api: Any) -> None:
    fields = {**REQUEST, "name": "r1", "parameters": '{"message": "from a form"}'}
    created = assert_ok(api.post("/api/v1/resources/", fields, format="multipart"), 201)
    assert created["parameters"]["message"] == "from a form"


@pytest.mark.parametrize("value", NOT_OBJECTS)
def test_a_parameter_change_refuses_a_non_object(api: Any, value: Any) -> None:
    created = assert_ok(
        api.post("/api/v1/resources/", {**REQUEST, "name": "r1", "parameters": {}}), 201
    )
    response = api.patch(f"/api/v1/resources/{created['id']}/", {"parameters": value})
    assert_error(response, 400, "parameters")


@pytest.mark.parametrize("value", NOT_OBJECTS)
def test_template_validation_refuses_a_non_object(api: Any, value: Any) -> None:
    response = api.post("/api/v1/templates/example-config/validate/", {"parameters": value})
    assert_error(response, 400, "parameters")


@pytest.mark.parametrize("path", ["/api/v1/pipelines/preview/", "/api/v1/pipelines/"])
@pytest.mark.parametrize("value", NOT_OBJECTS)
def test_pipeline_options_must_be_an_object(api: Any, path: str, value: Any) -> None:
    body = {"service": "checkout", "template": "python", "environments": ["dev"], "options": value}
    assert_error(api.post(path, body), 400, "options")


@pytest.mark.parametrize("value", NOT_OBJECTS)
def test_fleet_selection_must_be_an_object(
    api: Any, platform_admin: Any, api_as: Any, value: Any
) -> None:
    response = api_as(platform_admin).post(
        "/api/v1/fleet-upgrades/", {"template": "example-config", "selection": value}
    )
    assert_error(response, 400, "selection")
