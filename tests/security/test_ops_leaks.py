"""What the ops endpoints show: /metrics only with its token in production, and
/api/v1/status/ only the signed-in user's teams' runs."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from catalog.models import Template, TemplateVersion
from idp.models import Environment, Team
from tests.utils import assert_ok

ROOT = Path(django_settings.BASE_DIR)

# --- /metrics ---------------------------------------------------------------------------


def test_metrics_without_a_token_is_404_when_one_is_required(
    client, platform_admin, client_as, settings
):
    settings.IDP_METRICS_REQUIRE_TOKEN = True
    settings.IDP_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404
    assert client_as(platform_admin).get("/metrics").status_code == 404


def test_metrics_with_a_required_token_answer_the_token_only(client, db, settings):
    settings.IDP_METRICS_REQUIRE_TOKEN = True
    settings.IDP_METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert right.status_code == 200 and b"idp_http_requests_total" in right.content


def test_metrics_stay_open_in_development_when_no_token_is_set(client, db, settings):
    settings.IDP_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 200


def test_deploy_check_warns_about_a_missing_metrics_token(settings):
    from idp.ops.deploy_checks import check_metrics_token

    settings.IDP_METRICS_REQUIRE_TOKEN = True
    settings.IDP_METRICS_TOKEN = ""
    [warning] = check_metrics_token(None)
    assert warning.id == "idp.W001" and "404" in warning.msg
    settings.IDP_METRICS_REQUIRE_TOKEN = False
    [warning] = check_metrics_token(None)
    assert "open to anyone" in warning.msg
    settings.IDP_METRICS_TOKEN = "scrape-secret"
    assert check_metrics_token(None) == []


def manage_check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security"],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "IDP_SECRET_KEY": secrets.token_urlsafe(60),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_production_requires_the_metrics_token_and_check_deploy_says_so():
    result = manage_check_deploy()
    assert "idp.W001" in result.stdout + result.stderr
    assert "IDP_METRICS_TOKEN" in result.stdout + result.stderr
    result = manage_check_deploy(IDP_METRICS_TOKEN="scrape-secret")
    assert "idp.W001" not in result.stdout + result.stderr, result.stdout + result.stderr


# --- /api/v1/status/ --------------------------------------------------------------------


@pytest.fixture
def run_of(db: None) -> Any:
    """A Run row of a resource owned by `team` (rows only, no Terraform)."""
    from provisioning.models import Resource, Run

    def make(team: Team, status: str, *, ago: float = 60) -> Any:
        env, _ = Environment.objects.get_or_create(slug="dev", defaults={"name": "Dev"})
        template, _ = Template.objects.get_or_create(slug="leak-fixture", defaults={"title": "L"})
        version, _ = TemplateVersion.objects.get_or_create(
            template=template, number=1, defaults={"content_hash": "x" * 64}
        )
        resource = Resource.objects.create(
            team=team,
            template=template,
            template_version=version,
            environment=env,
            name=f"{team.slug}-{Resource.objects.count()}",
        )
        finished = timezone.now() - timedelta(seconds=ago)
        done = status in ("succeeded", "failed")
        return Run.objects.create(
            resource=resource,
            kind="apply",
            status=status,
            template_version=version,
            started_at=finished - timedelta(seconds=5) if done else None,
            finished_at=finished if done else None,
        )

    return make


def test_status_shows_only_your_teams_runs(
    alice, carol, platform_admin, teams, run_of, api_as, settings
):
    settings.IDP_READINESS_TIMEOUT = 0.3
    search = teams["search"]
    for status in ("running", "queued", "failed"):
        run_of(search, status)
    theirs = run_of(search, "succeeded", ago=10)
    mine = run_of(teams["payments"], "succeeded", ago=600)

    body = assert_ok(api_as(alice).get("/api/v1/status/"))
    assert body["runs"] == {
        "running": 0,
        "queued": 0,
        "failed_last_hour": 0,
        "succeeded_last_hour": 1,
    }
    assert body["last_successful_run"]["id"] == mine.pk

    body = assert_ok(api_as(carol).get("/api/v1/status/"))
    assert body["runs"] == {
        "running": 1,
        "queued": 1,
        "failed_last_hour": 1,
        "succeeded_last_hour": 1,
    }
    assert body["last_successful_run"]["id"] == theirs.pk

    body = assert_ok(api_as(platform_admin).get("/api/v1/status/"))
    assert body["runs"]["succeeded_last_hour"] == 2 and body["runs"]["running"] == 1
    assert body["last_successful_run"]["id"] == theirs.pk


def test_status_of_a_user_without_teams_shows_no_runs(make_user, teams, run_of, api_as, settings):
    settings.IDP_READINESS_TIMEOUT = 0.3
    run_of(teams["search"], "succeeded")
    body = assert_ok(api_as(make_user("loner")).get("/api/v1/status/"))
    assert body["runs"] == {
        "running": 0,
        "queued": 0,
        "failed_last_hour": 0,
        "succeeded_last_hour": 0,
    }
    assert body["last_successful_run"] is None
