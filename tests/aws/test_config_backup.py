"""The platform's own configuration in Parameter Store (IDP_CONFIG_SSM_PREFIX) is backed up
with every state backup generation and put back by `manage.py restore_parameters --config`,
against the local AWS API."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
from django.core.management import CommandError, call_command

from idp import services as idp_services
from provisioning.engine.backend import backup_bucket, ensure_state_bucket
from provisioning.engine.housekeeping import back_up_states

pytestmark = pytest.mark.integration

CONFIG = "/idp/config/prod"
SITE = f"{CONFIG}/IDP_SITE_URL"
SECRET = f"{CONFIG}/IDP_GITHUB_WEBHOOK_SECRET"
SECRET_VALUE = "whsec-do-not-print-0412"
OUTPUT = "/idp/payments/checkout/dev/db/url"


@pytest.fixture
def store(aws: str, db: None, settings: Any) -> Any:
    settings.IDP_CONFIG_SSM_PREFIX = CONFIG
    ensure_state_bucket()
    idp_services.upsert_environment("dev", order=1)
    ssm = boto3.client("ssm", region_name="eu-west-1", endpoint_url=aws)
    ssm.put_parameter(Name=SITE, Value="https://idp.example.com", Type="String")
    ssm.put_parameter(Name=SECRET, Value=SECRET_VALUE, Type="SecureString")
    ssm.put_parameter(Name=OUTPUT, Value="postgres://db.internal/checkout", Type="String")
    return ssm


def value(ssm: Any, name: str) -> str:
    return ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]


def saved_config(aws: str) -> str:
    s3 = boto3.client("s3", region_name="eu-west-1", endpoint_url=aws)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=backup_bucket())["Contents"]]
    key = next(k for k in keys if k.endswith("/config/parameters.json"))
    return s3.get_object(Bucket=backup_bucket(), Key=key)["Body"].read().decode()


def test_the_configuration_is_backed_up_and_restored(store: Any, aws: str) -> None:
    out = io.StringIO()
    call_command("backup_state", stdout=out)
    assert f"Saved 2 configuration parameters of {CONFIG}" in out.getvalue()
    assert "Saved 1 Parameter Store output of dev" in out.getvalue()
    saved = saved_config(aws)
    assert SECRET_VALUE not in saved  # SecureStrings stay encrypted in the backup
    assert SITE in saved and OUTPUT not in saved

    store.delete_parameter(Name=SECRET)
    store.put_parameter(Name=SITE, Value="https://wrong", Type="String", Overwrite=True)

    out = io.StringIO()
    call_command("restore_parameters", "--config", "--dry-run", stdout=out)
    listed = out.getvalue()
    assert "Would restore 2 configuration parameters" in listed
    assert f"{SECRET} (gone)" in listed and f"{SITE} (differs)" in listed
    assert SECRET_VALUE not in listed and "idp.example.com" not in listed
    assert value(store, SITE) == "https://wrong"  # a dry run writes nothing

    out = io.StringIO()
    call_command("restore_parameters", "--config", stdout=out)
    assert "Restored 2 configuration parameters" in out.getvalue()
    assert value(store, SITE) == "https://idp.example.com"
    assert value(store, SECRET) == SECRET_VALUE
    assert store.get_parameter(Name=SECRET)["Parameter"]["Type"] == "SecureString"

    out = io.StringIO()
    call_command("restore_parameters", "--config", stdout=out)
    assert "Restored 0 configuration parameters" in out.getvalue()
    assert "(2 already as backed up)" in out.getvalue()


def test_the_scheduled_backup_saves_the_configuration(store: Any) -> None:
    done = back_up_states()
    assert done["parameters"]["config"] == {"path": CONFIG, "saved": 2}


def test_a_backup_without_configuration_says_so(store: Any, settings: Any) -> None:
    settings.IDP_CONFIG_SSM_PREFIX = ""
    out = io.StringIO()
    call_command("backup_state", stdout=out)
    assert "configuration" not in out.getvalue()
    with pytest.raises(CommandError, match="holds no configuration"):
        call_command("restore_parameters", "--config", stdout=io.StringIO())


def test_config_and_environment_do_not_mix(store: Any) -> None:
    with pytest.raises(CommandError, match="--environment applies to outputs"):
        call_command("restore_parameters", "--config", "--environment", "dev")
