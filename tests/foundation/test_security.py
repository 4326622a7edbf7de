"""Security defaults: CSRF, DEBUG off, production settings, JSON API errors."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from idp.choices import Role
from idp.models import APIToken, Membership
from tests.utils import assert_error

ROOT = Path(django_settings.BASE_DIR)


def run_django(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Import settings in a fresh interpreter with only the given IDP_* variables set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_csrf_is_enforced_on_portal_posts(alice, db):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    assert client.post("/profile/tokens/", {"name": "x"}).status_code == 403
    assert not APIToken.objects.filter(user=alice).exists()
    anonymous = Client(enforce_csrf_checks=True)
    assert (
        anonymous.post("/accounts/login/", {"login": "alice", "password": "pw-alice"}).status_code
        == 403
    )
    # With the token from the form it works.
    page = client.get("/profile/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = client.post(
        "/profile/tokens/", {"name": "x", "scopes": ["read"], "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert APIToken.objects.filter(user=alice, name="x").exists()


def test_session_api_writes_need_csrf_too(by_role, teams, db):
    client = Client(enforce_csrf_checks=True)
    client.force_login(by_role[Role.ADMIN], backend="django.contrib.auth.backends.ModelBackend")
    response = client.patch(
        "/api/v1/teams/payments/", {"name": "x"}, content_type="application/json"
    )
    assert_error(response, 403)
    assert "CSRF" in response.json()["detail"]


def test_debug_is_off_unless_asked():
    code = "import config.settings.base as b; print(b.DEBUG)"
    assert run_django(code).stdout.strip() == "False"
    assert run_django(code, IDP_DEBUG="1").stdout.strip() == "True"


@pytest.mark.parametrize("key", [None, "too-short"])
def test_production_settings_refuse_a_missing_or_short_secret_key(key):
    env = {"IDP_SECRET_KEY": key} if key else {}
    result = run_django("import config.settings.production", **env)
    assert result.returncode != 0
    assert "IDP_SECRET_KEY must be set" in result.stderr


@pytest.mark.slow
def test_production_settings_pass_check_deploy():
    result = subprocess.run(
        # The security (deploy) checks; other apps' schema warnings are not settings' business.
        [
            sys.executable,
            "manage.py",
            "check",
            "--deploy",
            "--tag",
            "security",
            "--fail-level",
            "WARNING",
        ],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("IDP_")},
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "IDP_SECRET_KEY": secrets.token_urlsafe(60),
            # Without it /metrics is off and the deploy check says so (tests/security).
            "IDP_METRICS_TOKEN": secrets.token_urlsafe(30),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    code = (
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE']='config.settings.production';"
        "django.setup(); from django.conf import settings as s;"
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0)"
    )
    out = run_django(code, IDP_SECRET_KEY=secrets.token_urlsafe(60))
    assert out.stdout.strip().endswith("False True True True"), out.stderr


def test_api_errors_are_json_with_detail(alice, by_role, api_as, teams):
    anonymous = Client()
    for url in ("/api/v1/nope/", "/api/v1/teams/payments/members/x/y/", "/api/nothing"):
        response = anonymous.get(url)
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found."}
    assert_error(anonymous.get("/api/v1/teams/"), 401)
    api = api_as(by_role[Role.MEMBER])
    assert_error(api.get("/api/v1/teams/search/"), 404)
    assert_error(api.patch("/api/v1/teams/payments/", {"name": "x"}), 403)
    admin = api_as(by_role[Role.ADMIN])
    assert_error(
        admin.post("/api/v1/teams/payments/members/", {"username": "z", "role": "boss"}),
        400,
        field="role",
    )
    assert_error(
        admin.post("/api/v1/teams/payments/members/", {"username": "bad name!"}),
        400,
        field="username",
    )
    assert_error(admin.patch("/api/v1/teams/payments/", {"name": "x" * 300}), 400, field="name")
    assert not Membership.objects.filter(user__username="bad name!").exists()


def test_portal_404_page_is_html_in_layout(alice, client_as):
    page = client_as(alice).get("/no/such/page/")
    assert page.status_code == 404
    assert b'<header class="top">' in page.content and b"Not found" in page.content


def test_secrets_never_in_api_responses(alice, api_as):
    api = api_as(alice)
    body = api.get("/api/v1/tokens/").content.decode()
    token = APIToken.objects.get(user=alice)
    assert token.key_hash not in body
    me = api.get("/api/v1/me/").content.decode()
    assert "password" not in me and "pbkdf2" not in me and "md5" not in me
