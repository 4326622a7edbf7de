"""The platform's settings are declared once (idp/conf.py) and read without guessed defaults."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from idp import conf

ROOT = Path(__file__).resolve().parents[2]


def test_every_declared_setting_is_loaded_with_its_type() -> None:
    for declared in conf.DECLARED:
        value = getattr(settings, declared.name)
        if declared.type == "optional":
            assert value is None or isinstance(value, str), declared.name
        else:
            assert isinstance(value, declared.type), (declared.name, value)


def test_values_come_from_the_environment_and_bad_ones_are_named() -> None:
    values = conf.load(
        {"IDP_RUN_TIME_LIMIT": "90", "TF_PLUGIN_CACHE_DIR": "/x", "IDP_RUN_QUEUE": ""}
    )
    assert values["IDP_RUN_TIME_LIMIT"] == 90
    assert values["IDP_PLUGIN_CACHE_DIR"] == Path("/x")
    assert values["IDP_RUN_QUEUE"] is None
    with pytest.raises(ValueError, match="IDP_RUN_TIME_LIMIT='soon'"):
        conf.load({"IDP_RUN_TIME_LIMIT": "soon"})


def test_an_undeclared_setting_is_an_error_not_a_default() -> None:
    assert conf.setting("IDP_APPROVAL_TTL_HOURS") == settings.IDP_APPROVAL_TTL_HOURS
    with pytest.raises(KeyError):
        conf.setting("IDP_NOT_A_SETTING")


def test_one_run_time_limit_drives_the_workers_last_resort() -> None:
    assert settings.CELERY_TASK_TIME_LIMIT > settings.IDP_RUN_TIME_LIMIT
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT


def test_no_call_site_guesses_a_default_for_a_platform_setting() -> None:
    pattern = re.compile(r"getattr\(\s*settings\s*,\s*[\"']IDP_")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for app in ("config", "idp", "catalog", "provisioning", "pipelines", "monitoring")
        for path in (ROOT / app).rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_the_settings_command_hides_secrets(settings) -> None:
    settings.IDP_SLACK_WEBHOOK_URL = "https://hooks.example/secret-path"
    out = io.StringIO()
    call_command("idp_settings", stdout=out)
    assert "IDP_RUN_TIME_LIMIT" in out.getvalue() and "secret-path" not in out.getvalue()
