"""Sign-in with django-allauth: local accounts, sign-out, password reset, rate limit, SSO."""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client

GITHUB = {"github": {"APPS": [{"client_id": "gh-id", "secret": "gh-secret"}]}}
GOOGLE = {"google": {"APPS": [{"client_id": "g-id", "secret": "g-secret"}]}}
OIDC = {
    "openid_connect": {
        "APPS": [
            {
                "provider_id": "corp",
                "name": "Corp SSO",
                "client_id": "oidc-id",
                "secret": "oidc-secret",
                "settings": {"server_url": "https://sso.example.com"},
            }
        ]
    }
}
SAML = {
    "saml": {
        "APPS": [
            {
                "name": "Okta SAML",
                "provider_id": "https://idp.example.com/entity",
                "client_id": "acme",
                "settings": {
                    "attribute_mapping": {"uid": "uid", "email": "email"},
                    "idp": {
                        "entity_id": "https://idp.example.com/entity",
                        "sso_url": "https://idp.example.com/sso",
                        "x509cert": "MIIB",
                    },
                },
            }
        ]
    }
}


def sign_in(client: Client, login: str, password: str) -> object:
    return client.post("/accounts/login/", {"login": login, "password": password})


def signed_in_as(client: Client) -> str | None:
    page = client.get("/profile/")
    if page.status_code != 200:
        return None
    match = re.search(rb"Signed in as <strong>([^<]+)</strong>", page.content)
    return match.group(1).decode() if match else None


def test_login_page_renders_in_the_portal_layout(client, db):
    page = client.get("/accounts/login/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'href="/static/css/idp.css"' in html and '<header class="top">' in html
    assert 'class="card auth-form"' in html and 'name="login"' in html
    assert html.index('type="submit"') < html.index("</form>")  # sign-in is the first button
    assert "sign up" not in html.lower() or "Accounts are created by your platform team" in html
    reset = client.get("/accounts/password/reset/").content.decode()
    assert '<header class="top">' in reset and 'class="card auth-form"' in reset


@pytest.mark.parametrize("login", ["alice", "alice@example.com", "ALICE"])
def test_sign_in_by_username_or_email_then_sign_out(login, client, alice, carol):
    response = sign_in(client, login, "pw-alice")
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(client) == "alice"
    home = client.get("/").content.decode()
    assert "Payments" in home and "/teams/search/" not in home
    teams = client.get("/teams/").content.decode()
    assert "/teams/payments/" in teams and "/teams/search/" not in teams

    assert client.post("/accounts/logout/").status_code == 302
    assert signed_in_as(client) is None
    assert client.get("/").status_code == 302  # back to the sign-in page


def test_wrong_password_reshows_the_form(client, alice):
    response = sign_in(client, "alice", "wrong")
    assert response.status_code == 200
    assert b"not correct" in response.content and b'class="errorlist' in response.content
    assert signed_in_as(client) is None


def test_password_reset_sends_an_email(client, alice):
    response = client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", message.body)
    assert link, message.body
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200 and b"password1" in form.content
    action = form.redirect_chain[-1][0] if form.redirect_chain else link.group(1)
    done = client.post(action, {"password1": "N3w-secret-pw!", "password2": "N3w-secret-pw!"})
    assert done.status_code == 302
    assert sign_in(Client(), "alice", "N3w-secret-pw!").status_code == 302


def test_login_rate_limit_locks_out_after_failures(client, alice, carol, settings):
    settings.ACCOUNT_RATE_LIMITS = False  # prove django-axes alone does it
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "alice", "wrong")
    locked = sign_in(client, "alice", "pw-alice")
    assert locked.status_code == 429
    assert signed_in_as(client) is None
    attempt = AccessAttempt.objects.get(username="alice")
    assert attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT
    # The address is locked too (for every account); another address is not.
    assert sign_in(Client(), "carol", "pw-carol").status_code == 429
    assert sign_in(Client(REMOTE_ADDR="192.0.2.8"), "carol", "pw-carol").status_code == 302


def test_allauth_rate_limit_also_applies(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 100  # prove allauth's own limit (5 per 5 minutes per login)
    for _ in range(5):
        assert b"not correct" in sign_in(client, "alice", "wrong").content
    refused = sign_in(client, "alice", "pw-alice")
    assert b"Too many failed login attempts" in refused.content
    assert signed_in_as(client) is None


@pytest.mark.parametrize(
    "providers, label",
    [
        (GITHUB, "Sign in with GitHub"),
        (GOOGLE, "Sign in with Google"),
        (OIDC, "Sign in with Corp SSO"),
        (SAML, "Sign in with Okta SAML"),
    ],
)
def test_configured_provider_appears_on_login_page(providers, label, client, db, settings):
    assert label.encode() not in client.get("/accounts/login/").content
    settings.SOCIALACCOUNT_PROVIDERS = providers
    page = client.get("/accounts/login/").content.decode()
    assert label in page
    assert 'class="provider-list"' in page


def test_sso_settings_come_from_the_environment(monkeypatch):
    from config.settings import base

    monkeypatch.setenv("IDP_GITHUB_CLIENT_ID", "abc")
    monkeypatch.setenv("IDP_OIDC_CLIENT_ID", "def")
    monkeypatch.setenv("IDP_OIDC_SERVER_URL", "https://sso.example.com")
    monkeypatch.setenv("IDP_SAML_IDP_ENTITY_ID", "https://idp.example.com/e")
    providers = base._socialaccount_providers()
    assert set(providers) == {"github", "openid_connect", "saml"}
    assert providers["github"]["APPS"][0]["client_id"] == "abc"
    assert providers["openid_connect"]["APPS"][0]["settings"]["server_url"].startswith("https://")
