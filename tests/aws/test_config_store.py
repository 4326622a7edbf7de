"""Configuration from Parameter Store (IDP_CONFIG_SSM_PREFIX), proven the way ops meet it:
`manage.py idp_settings` started as a new process against the local AWS API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from idp import ssm_config

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "/idp/config/test"

pytestmark = pytest.mark.integration


def ssm(url: str) -> Any:
    return boto3.client("ssm", region_name="eu-west-1", endpoint_url=url)


def settings_command(url: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("IDP_") or key == "IDP_WORK_DIR"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        AWS_ENDPOINT_URL=url,
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's
        **variables,
    )
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "idp_settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def line_of(output: str, variable: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(variable + " "))


@pytest.mark.slow
def test_parameter_store_overrides_defaults_and_the_environment_wins(aws: str) -> None:
    client = ssm(aws)
    client.put_parameter(Name=f"{PREFIX}/IDP_APPROVAL_TTL_HOURS", Value="12", Type="String")
    client.put_parameter(
        Name=f"{PREFIX}/IDP_SLACK_WEBHOOK_URL",
        Value="https://hooks.example.test/T000/secret-path",
        Type="SecureString",
    )
    client.put_parameter(Name=f"{PREFIX}/IDP_STATE_BUCKET", Value="from-store", Type="String")
    client.put_parameter(Name=f"{PREFIX}/IDP_FROM_EMAIL", Value="ops@example.test", Type="String")
    # Deeper paths and names no setting could have are not configuration.
    client.put_parameter(Name=f"{PREFIX}/nested/IDP_SITE_URL", Value="http://x", Type="String")
    client.put_parameter(Name=f"{PREFIX}/not-a-variable", Value="x", Type="String")

    done = settings_command(aws, IDP_CONFIG_SSM_PREFIX=PREFIX, IDP_STATE_BUCKET="from-environment")

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert line_of(out, "IDP_APPROVAL_TTL_HOURS").split()[1] == "12"
    assert "(from Parameter Store)" in line_of(out, "IDP_APPROVAL_TTL_HOURS")
    # A SecureString is decrypted into the setting, and still never printed.
    assert "(set)  (from Parameter Store)" in line_of(out, "IDP_SLACK_WEBHOOK_URL")
    assert "secret-path" not in out
    assert line_of(out, "IDP_STATE_BUCKET").split()[1] == "from-environment"
    assert "(from Parameter Store)" not in line_of(out, "IDP_STATE_BUCKET")
    assert "http://localhost:8000" in line_of(out, "IDP_SITE_URL")
    assert "Also from Parameter Store: IDP_FROM_EMAIL" in out


def test_an_unreadable_store_stops_the_start_with_the_reason() -> None:
    done = settings_command("http://127.0.0.1:9", IDP_CONFIG_SSM_PREFIX=PREFIX)

    assert done.returncode != 0
    assert "IDP_CONFIG_SSM_PREFIX=/idp/config/test: Parameter Store could not be read" in (
        done.stderr
    )


def test_without_a_prefix_nothing_is_read() -> None:
    environ = {"IDP_SITE_URL": "http://portal"}

    assert ssm_config.apply(environ, client=object()) == []
    assert environ == {"IDP_SITE_URL": "http://portal"}
