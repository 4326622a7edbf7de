"""The AWS API down: a run against a stopped moto server fails with an error naming the
endpoint, writes nothing, and a retry succeeds once the AWS API is back."""

from __future__ import annotations

import boto3
import pytest
from moto.server import ThreadedMotoServer

from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.engine.backend import state_bucket, state_key
from provisioning.models import ResourceLock
from tests.provisioning.engine.conftest import log_of, request_module, run_queued
from tests.provisioning.engine.test_runs import wait_for
from tests.utils import free_port, port_open

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.mark.django_db
@pytest.mark.slow
def test_aws_api_down_fails_clearly_and_retry_succeeds(alice, teams, envs, echo, state, settings):
    # A moto server of this test only; moto keeps its data in this process, so a restart on
    # the same port finds the state bucket again (like AWS coming back after an outage).
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    settings.AWS_ENDPOINT_URL = endpoint

    resource = request_module(alice, teams["payments"], name="no-aws", message="after the outage")
    (plan,) = run_queued(resource)
    assert plan.kind == RunKind.PLAN and plan.status == RunStatus.FAILED
    assert f"127.0.0.1:{port}" in plan.error, plan.error
    assert f"127.0.0.1:{port}" in log_of(plan)
    assert resource.status == ResourceStatus.FAILED and str(port) in resource.last_error
    assert not plan.plan_file and not resource.outputs
    assert not ResourceLock.objects.filter(resource=resource).exists()
    assert "retry" in actions.allowed_actions(resource, alice)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        wait_for(lambda: port_open("127.0.0.1", port), "the moto server to listen again")
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1")
        # Nothing half-written while AWS was down: no state object for the resource.
        listed = s3.list_objects_v2(Bucket=state_bucket(), Prefix=state_key(resource))
        assert listed.get("KeyCount", 0) == 0
        actions.retry(resource, actor=alice)
        runs = run_queued(resource)
        assert runs and all(r.status == RunStatus.SUCCEEDED for r in runs), [r.error for r in runs]
        assert resource.status == ResourceStatus.PROVISIONED, resource.last_error
        assert resource.outputs["echo"] == "after the outage"
        s3.head_object(Bucket=state_bucket(), Key=state_key(resource))
        assert not ResourceLock.objects.filter(resource=resource).exists()
    finally:
        server.stop()
