"""Fixtures of the state cache tests: a state bucket on the moto server, a resource, state
objects written as Terraform would, and a count of the S3 calls at the HTTP boundary."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from provisioning.engine import state_cache
from provisioning.engine.backend import ensure_state_bucket, platform_client, state_bucket
from provisioning.engine.backend import state_key as key_of
from provisioning.models import Resource
from tests.helpers import make_resource


@pytest.fixture
def bucket(aws: str) -> str:
    ensure_state_bucket()  # versioned and encrypted, as the platform makes it
    return aws


@pytest.fixture
def resource(db: None, teams: dict[str, Any]) -> Resource:
    return make_resource(teams["payments"], "cached")


@pytest.fixture
def behind_the_back(bucket: str) -> Any:
    """An S3 client of its own, not the platform's: writes the platform does not see."""
    return boto3.client("s3", endpoint_url=bucket, region_name="eu-west-1")


def state_doc(
    serial: int,
    *,
    lineage: str = "lin-1",
    echo: str = "hello",
    token: str = "tok-secret-1",
    instances: int = 1,
) -> dict[str, Any]:
    """A Terraform state document as the S3 backend stores it (format 4)."""
    return {
        "version": 4,
        "terraform_version": "1.9.0",
        "serial": serial,
        "lineage": lineage,
        "outputs": {
            "echo": {"value": echo, "type": "string"},
            "token": {"value": token, "type": "string", "sensitive": True},
        },
        "resources": [
            {
                "mode": "managed",
                "type": "terraform_data",
                "name": "echo",
                "provider": 'provider["terraform.io/builtin/terraform"]',
                "instances": [
                    {"index_key": i, "attributes": {"id": str(uuid.uuid4()), "input": echo}}
                    for i in range(instances)
                ],
            },
            {
                "module": "module.net",
                "mode": "data",
                "type": "aws_vpc",
                "name": "main",
                "instances": [{"attributes": {"id": "vpc-1"}}],
            },
        ],
        "check_results": None,
    }


@pytest.fixture
def put_state(behind_the_back: Any) -> Callable[..., dict[str, Any]]:
    """Store a state object for a resource as Terraform's backend does (PutObject)."""

    def put(resource: Resource, serial: int, **kw: Any) -> dict[str, Any]:
        doc = state_doc(serial, **kw)
        behind_the_back.put_object(
            Bucket=state_bucket(),
            Key=key_of(resource),
            Body=json.dumps(doc).encode(),
            ContentType="application/json",
        )
        return doc

    return put


def summary_of(resource: Resource) -> state_cache.Summary:
    """The resource's state summary, which must exist."""
    summary = state_cache.read(resource)
    assert summary is not None
    return summary


class S3Calls:
    """The platform client's S3 requests as they are sent over HTTP (retries included)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def __call__(self, event_name: str, **kwargs: Any) -> None:
        self.sent.append(event_name.rsplit(".", 1)[-1])

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture
def s3_calls(bucket: str) -> Iterator[S3Calls]:
    calls = S3Calls()
    events = platform_client("s3").meta.events
    events.register("before-send.s3", calls, unique_id="state-cache-test-count")
    yield calls
    events.unregister("before-send.s3", unique_id="state-cache-test-count")
