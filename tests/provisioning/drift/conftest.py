"""Fixtures of the drift tests: the engine's fixture modules and state bucket, drift made
behind the platform's back (the state edited out of band), a drift check run here, and a
Slack-compatible webhook receiver on loopback."""

# ruff: noqa: F401 - the engine's fixtures are imported by name, then asked for by name
from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from django.core.management import call_command

from idp.models import Environment
from provisioning.engine.backend import state_bucket, state_key
from provisioning.models import Resource
from tests.provisioning.engine.conftest import drive, echo, envs, state

__all__ = ["drive", "echo", "envs", "state"]


def change_behind_the_back(endpoint: str, resource: Resource, value: str) -> None:
    """Someone changes the echoed value outside the platform (here: in the state itself)."""
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1")
    key = state_key(resource)
    doc = json.loads(s3.get_object(Bucket=state_bucket(), Key=key)["Body"].read())
    attrs = doc["resources"][0]["instances"][0]["attributes"]
    attrs["input"]["value"] = attrs["output"]["value"] = value
    doc["outputs"]["echo"]["value"] = value
    doc["serial"] += 1
    s3.put_object(Bucket=state_bucket(), Key=key, Body=json.dumps(doc).encode())


def check_drift(resource: Resource, capture: Any = None) -> str:
    """Run a drift check of the resource in this process (`manage.py detect_drift --now`);
    with `capture` (django_capture_on_commit_callbacks) what it sends on commit is sent."""
    out = io.StringIO()
    if capture is None:
        call_command("detect_drift", str(resource.pk), "--now", stdout=out)
    else:
        with capture(execute=True):
            call_command("detect_drift", str(resource.pk), "--now", stdout=out)
    resource.refresh_from_db()
    return out.getvalue()


@pytest.fixture
def sandbox(db: None) -> Environment:
    """An environment that reconciles drift by itself."""
    return Environment.objects.create(
        slug="sandbox", name="Sandbox", order=0, auto_reconcile_drift=True
    )
