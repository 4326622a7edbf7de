"""Request → plan → apply → provisioned, with real Terraform and S3 state on moto."""

from __future__ import annotations

import json

import boto3
import pytest

from idp import services as idp_services
from idp.models import AuditEvent
from provisioning import actions
from provisioning.actions.results import PlanPurpose
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.crypto import decrypt_json
from provisioning.engine.backend import state_key

from .conftest import log_of
from .conftest import request_module as request

TRICKY = "q\"uote 'single' ${var.secret} %{ if true }x%{ endif } $(id) `whoami`\nline2 \\ end"


@pytest.mark.django_db
def test_request_plan_apply_outputs_and_ssm(alice, teams, envs, echo, state, drive) -> None:
    resource = request(
        alice, teams["payments"], parameters={"message": TRICKY, "secret": "very-secret-1"}
    )
    assert resource.status == ResourceStatus.PENDING
    assert "secret" not in resource.parameters and resource.sensitive_parameters
    plan = resource.runs.get()
    assert (plan.kind, plan.status) == (RunKind.PLAN, RunStatus.QUEUED)

    runs = drive(resource)

    assert [r.kind for r in runs] == [RunKind.PLAN, RunKind.APPLY]
    assert all(r.status == RunStatus.SUCCEEDED for r in runs), [(r.kind, r.error) for r in runs]
    plan, apply = runs
    assert plan.plan_hash and len(plan.plan_hash) == 64 and bytes(plan.plan_file)
    assert plan.plan_summary["add"] == 1
    assert plan.plan_summary["resources"] == [
        {"address": "terraform_data.echo", "action": "create"}
    ]
    assert "+ terraform_data.echo (create)" in plan.plan_text
    assert apply.plan_run_id == plan.pk
    assert resource.status == ResourceStatus.PROVISIONED and resource.provisioned_at
    # The tricky value went through JSON variables and came back verbatim.
    assert resource.outputs["echo"] == TRICKY
    assert resource.outputs["where"] == f"payments/dev/{resource.name}"
    assert "token" not in resource.outputs and resource.sensitive_output_names == ["token"]
    assert decrypt_json(resource.sensitive_outputs) == {"token": "tok-very-secret-1"}
    assert "tok-very-secret-1" not in resource.sensitive_outputs
    # Logs streamed in chunks with Terraform's readable messages, secrets not in them.
    text = log_of(apply)
    assert "Apply complete" in text and "terraform_data.echo: Creation complete" in text
    assert "very-secret-1" not in log_of(plan) + text
    assert plan.log_size == len(log_of(plan))
    # State lives in S3 under the resource's key.
    s3 = boto3.client("s3", endpoint_url=state, region_name="eu-west-1")
    body = s3.get_object(Bucket="idp-terraform-state", Key=state_key(resource))["Body"].read()
    assert json.loads(body)["resources"][0]["type"] == "terraform_data"
    # Outputs were published to Parameter Store; the sensitive one as SecureString.
    ssm = boto3.client("ssm", endpoint_url=state, region_name="eu-west-1")
    prefix = f"/idp/payments/-/dev/{resource.name}"
    params = {
        p["Name"]: p
        for p in ssm.get_parameters_by_path(Path=prefix, Recursive=True, WithDecryption=True)[
            "Parameters"
        ]
    }
    assert params[f"{prefix}/echo"]["Value"] == TRICKY
    assert params[f"{prefix}/echo"]["Type"] == "String"
    assert params[f"{prefix}/token"]["Type"] == "SecureString"
    assert params[f"{prefix}/token"]["Value"] == "tok-very-secret-1"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"resource.requested", "run.succeeded", "resource.provisioned"} <= actions


@pytest.mark.django_db
def test_destroy_removes_state_resources_and_parameters(
    alice, bob, teams, envs, echo, state, drive
) -> None:
    resource = request(alice, teams["payments"], name="gone")
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED
    ssm = boto3.client("ssm", endpoint_url=state, region_name="eu-west-1")
    prefix = f"/idp/payments/-/dev/{resource.name}"
    assert ssm.get_parameters_by_path(Path=prefix, Recursive=True)["Parameters"]

    with pytest.raises(idp_services.Forbidden):
        actions.request_destroy(resource, actor=alice)  # members may not destroy
    started = actions.request_destroy(resource, actor=bob)
    run = started.run
    assert run.is_destroy and run.kind == RunKind.PLAN
    assert started.status == ResourceStatus.DESTROYING and started.purpose == PlanPurpose.DESTROY
    assert started.message == f"A destroy plan of {resource.name} is queued."
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.DESTROYING

    plan, destroy = drive(resource)
    assert plan.plan_summary["destroy"] == 1, plan.error
    assert destroy.kind == RunKind.DESTROY and destroy.status == RunStatus.SUCCEEDED, destroy.error
    assert resource.status == ResourceStatus.DESTROYED and resource.destroyed_at
    assert resource.outputs == {} and resource.sensitive_outputs == ""
    assert ssm.get_parameters_by_path(Path=prefix, Recursive=True)["Parameters"] == []
    s3 = boto3.client("s3", endpoint_url=state, region_name="eu-west-1")
    body = s3.get_object(Bucket="idp-terraform-state", Key=state_key(resource))["Body"].read()
    assert json.loads(body)["resources"] == []
    # The name is free again once the resource is destroyed.
    again = request(alice, teams["payments"], name="gone")
    assert again.pk != resource.pk


@pytest.mark.django_db(transaction=True)  # the lifecycle tells its listeners on commit
def test_a_plans_log_is_stored_before_the_plan_ends(alice, teams, envs, echo, state, drive):
    """A page that sees the plan's final status reads its whole log: the log is stored
    before the run ends, not after (a fast plan's lines used to come after its status, and
    the run page, final, showed an empty log)."""
    from provisioning import lifecycle
    from provisioning.models import RunLogChunk

    resource = request(alice, teams["payments"], parameters={"message": "hi"})
    plan = resource.runs.get()
    seen: list[str] = []

    def moved(event: lifecycle.Moved) -> None:
        # The plan's end moves the resource on (to applying here), in the same commit.
        if event.resource_id == resource.pk and event.before == ResourceStatus.PLANNING:
            chunks = RunLogChunk.objects.filter(run_id=plan.pk).values_list("text", flat=True)
            seen.append("".join(chunks))

    lifecycle.on_resource_moved(moved)
    try:
        drive(resource)
    finally:
        lifecycle._listeners.remove(moved)
    assert seen and "terraform_data.echo" in seen[0], seen
