"""The contract other apps call: resolve_version and validate_parameters."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.services import resolve_version, validate_parameters
from idp.services import ServiceError


@pytest.mark.parametrize(
    ("slug", "number", "field"),
    [
        ("../etc", None, "template"),
        ("S3_BUCKET", None, "template"),
        ("no-such-template", None, "template"),
        ("example-config", 99, "version"),
        ("example-config", "two", "version"),
    ],
)
def test_resolve_version_errors_name_their_field(
    synced: Any, slug: str, number: Any, field: str
) -> None:
    with pytest.raises(ServiceError) as exc:
        resolve_version(slug, number)
    assert exc.value.field == field
    assert exc.value.status == 400


def test_resolve_version_current_and_numbered(synced: Any) -> None:
    current = resolve_version("example-config")
    assert current.number == 1 and current.template.slug == "example-config"
    assert resolve_version("example-config", 1).pk == current.pk


def test_defaults_applied(synced: Any) -> None:
    version = resolve_version("example-config")
    assert validate_parameters(version, {"message": "hi there"}) == {
        "message": "hi there",
        "replicas": 1,
        "labels": {},
    }


def test_each_error_keyed_by_parameter(synced: Any) -> None:
    version = resolve_version("example-config")
    with pytest.raises(ServiceError) as exc:
        validate_parameters(
            version,
            {
                "message": "<script>",
                "replicas": 11,
                "labels": {"a": 1},
                "bogus": True,
            },
        )
    errors = exc.value.errors
    assert exc.value.message == "Invalid parameters"
    assert set(errors) == {
        "parameters.message",
        "parameters.replicas",
        "parameters.labels",
        "parameters.bogus",
    }
    # Sentences, not schema dumps: the Terraform validation's own words, the pattern in words.
    assert errors["parameters.replicas"] == ["Between 1 and 10."]
    assert errors["parameters.message"] == [
        "Use letters, digits, spaces and , . ! ? - (at most 100)"
    ]
    assert errors["parameters.labels"] == ['Key "a": enter text']
    assert errors["parameters.bogus"] == [
        "Unknown parameter: this template takes message, replicas, labels, secret_token"
    ]


def test_required_and_type_errors(synced: Any) -> None:
    version = resolve_version("s3-bucket")
    with pytest.raises(ServiceError) as exc:
        validate_parameters(version, {"versioning_enabled": "yes"})
    assert exc.value.errors["parameters.bucket_name"] == ["This parameter is required"]
    assert exc.value.errors["parameters.versioning_enabled"] == ["Choose true or false"]


def test_integer_from_floor_validation(synced: Any) -> None:
    version = resolve_version("example-config")
    with pytest.raises(ServiceError) as exc:
        validate_parameters(version, {"replicas": 2.5})
    assert "parameters.replicas" in exc.value.errors


def test_sensitive_values_are_never_echoed(synced: Any) -> None:
    version = resolve_version("example-config")
    with pytest.raises(ServiceError) as exc:
        validate_parameters(version, {"secret_token": "hunter2"})
    assert exc.value.errors == {"parameters.secret_token": ["At least 8 characters."]}
    assert "hunter2" not in str(exc.value.detail)
    # Optional sensitive input may be left out or null.
    assert "secret_token" not in validate_parameters(version, {})
    assert validate_parameters(version, {"secret_token": None})["secret_token"] is None


def test_platform_variables_cannot_be_passed(synced: Any) -> None:
    version = resolve_version("example-config")
    with pytest.raises(ServiceError) as exc:
        validate_parameters(version, {"idp_team": "someone-else"})
    assert exc.value.errors == {"parameters.idp_team": ["Set by the platform; do not pass it"]}


def test_not_an_object(synced: Any) -> None:
    with pytest.raises(ServiceError) as exc:
        validate_parameters(resolve_version("example-config"), ["a"])  # type: ignore[arg-type]
    assert exc.value.errors == {"parameters": ["Must be an object"]}
