"""Backups of the outputs published to Parameter Store, and `manage.py restore_parameters`,
against the local AWS API."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from django.core.management import CommandError, call_command

from idp import services as idp_services
from provisioning.engine.backend import backup_bucket, ensure_state_bucket
from provisioning.engine.housekeeping import back_up_states

pytestmark = pytest.mark.integration

URL = "/idp/payments/checkout/dev/db/url"
PASSWORD = "/idp/payments/checkout/dev/db/password"  # noqa: S105 - a parameter's name
PROD_URL = "/idp/payments/checkout/prod/db/url"


@pytest.fixture
def store(aws: str, db: None) -> Any:
    ensure_state_bucket()
    idp_services.upsert_environment("dev", order=1)
    idp_services.upsert_environment("prod", order=3)
    ssm = boto3.client("ssm", region_name="eu-west-1", endpoint_url=aws)
    ssm.put_parameter(Name=URL, Value="postgres://db.internal/checkout", Type="String")
    ssm.put_parameter(Name=PASSWORD, Value="s3cr3t-value", Type="SecureString")
    ssm.put_parameter(Name=PROD_URL, Value="postgres://prod.internal/checkout", Type="String")
    ssm.put_parameter(Name="/idp/config/prod/IDP_SITE_URL", Value="https://x", Type="String")
    return ssm


def value(ssm: Any, name: str) -> str:
    return ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]


def test_backup_then_restore_puts_lost_and_changed_outputs_back(store: Any, aws: str) -> None:
    out = io.StringIO()
    call_command("backup_state", stdout=out)
    assert "Saved 2 Parameter Store outputs of dev" in out.getvalue()
    assert "Saved 1 Parameter Store output of prod" in out.getvalue()

    s3 = boto3.client("s3", region_name="eu-west-1", endpoint_url=aws)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=backup_bucket())["Contents"]]
    dev_key = next(k for k in keys if k.endswith("/parameters/dev.json"))
    saved = s3.get_object(Bucket=backup_bucket(), Key=dev_key)["Body"].read().decode()
    assert "s3cr3t-value" not in saved  # SecureStrings stay encrypted in the backup
    assert [p["name"] for p in json.loads(saved)["parameters"]] == [PASSWORD, URL]
    assert "IDP_SITE_URL" not in saved  # the platform's own configuration is not an output

    store.delete_parameter(Name=PASSWORD)
    store.put_parameter(Name=URL, Value="postgres://wrong", Type="String", Overwrite=True)
    store.put_parameter(Name=PROD_URL, Value="postgres://changed", Type="String", Overwrite=True)

    out = io.StringIO()
    call_command("restore_parameters", "--environment", "dev", "--dry-run", stdout=out)
    assert "Would restore 2 parameters" in out.getvalue()
    assert value(store, URL) == "postgres://wrong"

    out = io.StringIO()
    call_command("restore_parameters", "--environment", "dev", stdout=out)
    assert "Restored 2 parameters" in out.getvalue()
    assert value(store, URL) == "postgres://db.internal/checkout"
    assert value(store, PASSWORD) == "s3cr3t-value"
    assert store.get_parameter(Name=PASSWORD)["Parameter"]["Type"] == "SecureString"
    assert value(store, PROD_URL) == "postgres://changed"  # not asked for

    out = io.StringIO()
    call_command("restore_parameters", "--path", "/idp/payments/checkout/prod", stdout=out)
    assert "Restored 1 parameter from" in out.getvalue()
    assert value(store, PROD_URL) == "postgres://prod.internal/checkout"


def test_the_scheduled_backup_saves_parameters_in_its_generation(store: Any) -> None:
    done = back_up_states()
    assert done["parameters"] == {"exported": {"dev": 2, "prod": 1}, "errors": {}, "config": None}


def test_a_backup_made_with_another_key_says_so(store: Any, settings: Any) -> None:
    call_command("backup_state", stdout=io.StringIO())
    store.delete_parameter(Name=PASSWORD)
    settings.IDP_ENCRYPTION_KEY = "another-key"
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 parameter could not be restored"):
        call_command("restore_parameters", stdout=io.StringIO(), stderr=err)
    assert "IDP_ENCRYPTION_KEY differs" in err.getvalue()


def test_restore_without_a_backup_is_refused(aws: str, db: None) -> None:
    ensure_state_bucket()
    with pytest.raises(CommandError, match="there is no backup generation 1"):
        call_command("restore_parameters", stdout=io.StringIO())
