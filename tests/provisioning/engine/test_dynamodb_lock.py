"""State locking with a DynamoDB table, per environment: real Terraform on a fixture module,
its S3 backend and lock table on the local AWS API."""

from __future__ import annotations

import io

import boto3
import pytest
from django.core.management import call_command

from idp import services as idp_services
from idp.choices import StateLocking
from idp.services import ServiceError
from provisioning import actions
from provisioning.choices import ResourceStatus, RunStatus
from provisioning.engine.backend import backend_tf, lock_id, state_bucket, state_key

from .conftest import log_of, request_module

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TABLE = "terraform-locks"


def items(url: str) -> dict[str, dict]:
    table = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=url)
    return {i["LockID"]["S"]: i for i in table.scan(TableName=TABLE)["Items"]}


@pytest.mark.django_db
def test_an_environment_locks_state_in_its_dynamodb_table(
    alice, platform_admin, teams, envs, echo, state, drive
):
    with pytest.raises(ServiceError) as refused:
        idp_services.upsert_environment("dev", state_locking=StateLocking.DYNAMODB)
    assert refused.value.field == "dynamodb_lock_table"
    idp_services.upsert_environment(
        "dev", state_locking=StateLocking.DYNAMODB, dynamodb_lock_table=TABLE
    )
    out = io.StringIO()
    call_command("ensure_state_backend", stdout=out)
    assert f"Created DynamoDB lock table {TABLE}" in out.getvalue()

    resource = request_module(alice, teams["payments"], env="dev", name="locked")
    assert f'dynamodb_table = "{TABLE}"' in backend_tf(resource)
    assert "use_lockfile" not in backend_tf(resource)
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED, resource.last_error
    # Terraform kept the state's digest in the table and released its lock there.
    held = items(state)
    assert f"{lock_id(resource)}-md5" in held and lock_id(resource) not in held
    s3 = boto3.client("s3", region_name="eu-west-1", endpoint_url=state)
    listed = s3.list_objects_v2(Bucket=state_bucket(), Prefix=state_key(resource))
    assert [o["Key"] for o in listed["Contents"]] == [state_key(resource)]

    # A lock left by a lost run stops the next plan, and unlock clears it (not the digest).
    boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=state).put_item(
        TableName=TABLE,
        Item={"LockID": {"S": lock_id(resource)}, "Info": {"S": '{"ID": "lost-run"}'}},
    )
    run = actions.replan(resource, actor=alice).run
    drive(resource)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "state lock" in log_of(run).lower()

    unlocked = actions.unlock(resource, actor=platform_admin)
    assert unlocked.state_lock is True
    held = items(state)
    assert lock_id(resource) not in held and f"{lock_id(resource)}-md5" in held
    actions.replan(resource, actor=alice)
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED, resource.last_error
