"""Identity providers started as their own processes on free loopback ports, and a
requests-based browser stand-in that follows the sign-in round trip over real HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.utils import free_port

ROOT = Path(__file__).resolve().parents[2]


def start_process(module: str, port: int, *args: str, ready_path: str) -> subprocess.Popen:
    """Start `python -m module` and wait until it answers on `ready_path`."""
    env = {**os.environ, "AUTHLIB_INSECURE_TRANSPORT": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{module} exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{module} did not start on port {port}")


def stop_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


@dataclass
class OIDCProvider:
    url: str
    client_id: str
    client_secret: str

    def add_user(self, username: str, *, groups: list[str], password: str = "pw") -> None:
        body = {"username": username, "password": password, "groups": groups}
        requests.post(f"{self.url}/_test/users", json=body, timeout=5).raise_for_status()

    def faults(self, **faults: Any) -> None:
        requests.post(f"{self.url}/_test/faults", json=faults, timeout=5).raise_for_status()

    def provider_settings(self) -> dict[str, Any]:
        """SOCIALACCOUNT_PROVIDERS as config/settings/base.py builds it from IDP_OIDC_*."""
        return {
            "openid_connect": {
                "APPS": [
                    {
                        "provider_id": "sso",
                        "name": "Company SSO",
                        "client_id": self.client_id,
                        "secret": self.client_secret,
                        "settings": {
                            "server_url": self.url,
                            "oauth_pkce_enabled": True,
                            "email_authentication": False,
                        },
                    }
                ]
            }
        }


@pytest.fixture(scope="session")
def oidc_server() -> Iterator[OIDCProvider]:
    port = free_port()
    proc = start_process(
        "tests.identity.idps.oidc_provider",
        port,
        "--client-id",
        "idp-portal",
        "--client-secret",
        "portal-secret",
        ready_path="/_test/health",
    )
    yield OIDCProvider(f"http://127.0.0.1:{port}", "idp-portal", "portal-secret")
    stop_process(proc)


@pytest.fixture
def oidc(oidc_server: OIDCProvider, settings: Any, monkeypatch: Any) -> Iterator[OIDCProvider]:
    """The OIDC provider, configured as the portal's SSO from IDP_OIDC_* as in production."""
    from config.settings.base import _socialaccount_providers

    oidc_server.faults()
    monkeypatch.setenv("IDP_OIDC_CLIENT_ID", oidc_server.client_id)
    monkeypatch.setenv("IDP_OIDC_CLIENT_SECRET", oidc_server.client_secret)
    monkeypatch.setenv("IDP_OIDC_SERVER_URL", oidc_server.url)
    monkeypatch.setenv("IDP_OIDC_NAME", "Company SSO")
    settings.SOCIALACCOUNT_PROVIDERS = _socialaccount_providers()
    assert oidc_server.provider_settings() == settings.SOCIALACCOUNT_PROVIDERS
    yield oidc_server
    oidc_server.faults()


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def form_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def start_sso(session: requests.Session, login_url: str) -> requests.Response:
    """What a browser does on the portal's 'Sign in with …' button: the confirmation
    page, then its POST (with the CSRF token), following redirects to the IdP."""
    page = session.get(login_url, timeout=10)
    page.raise_for_status()
    match = CSRF.search(page.text)
    assert match, page.text[:2000]
    return session.post(
        login_url,
        data={"csrfmiddlewaretoken": match.group(1)},
        headers={"Referer": login_url},
        timeout=30,
    )


def oidc_sign_in(live_url: str, username: str, *, password: str = "pw", next_url: str = "") -> Any:
    """The whole OIDC round trip over HTTP; returns the final response and the session."""
    session = requests.Session()
    login_url = f"{live_url}/accounts/oidc/sso/login/"
    if next_url:
        login_url += f"?next={requests.utils.quote(next_url, safe='')}"
    idp_page = start_sso(session, login_url)
    if "/authorize" not in idp_page.url:
        return idp_page, session
    import html

    action = html.unescape(re.search(r'action="([^"]+)"', idp_page.text).group(1))
    base = idp_page.url.split("/authorize")[0]
    answer = session.post(
        base + action,
        data={"username": username, "password": password},
        timeout=30,
    )
    return answer, session


@dataclass
class SAMLProvider:
    url: str
    entity_id: str
    sso_url: str
    cert: str

    def add_user(self, username: str, *, groups: list[str], password: str = "pw") -> None:
        body = {
            "username": username,
            "password": password,
            "email": f"{username}@example.com",
            "given_name": username.title(),
            "surname": "Tester",
            "groups": groups,
        }
        requests.post(f"{self.url}/_test/users", json=body, timeout=5).raise_for_status()

    def faults(self, **faults: Any) -> None:
        requests.post(f"{self.url}/_test/faults", json=faults, timeout=5).raise_for_status()

    def load_sp_metadata(self, url: str) -> None:
        body = {"metadata_url": url}
        requests.post(f"{self.url}/_test/sp", json=body, timeout=10).raise_for_status()


@pytest.fixture(scope="session")
def saml_server(tmp_path_factory: Any) -> Iterator[SAMLProvider]:
    import shutil

    from tests.utils import need

    need(shutil.which("xmlsec1"), "xmlsec1 is not installed (apt-get install xmlsec1)")
    port = free_port()
    workdir = tmp_path_factory.mktemp("saml-idp")
    proc = start_process(
        "tests.identity.idps.saml_idp", port, "--workdir", str(workdir), ready_path="/_test/health"
    )
    info = requests.get(f"http://127.0.0.1:{port}/_test/health", timeout=5).json()
    yield SAMLProvider(f"http://127.0.0.1:{port}", info["entity_id"], info["sso_url"], info["cert"])
    stop_process(proc)


@pytest.fixture
def saml(
    saml_server: SAMLProvider, settings: Any, monkeypatch: Any, live_server: Any
) -> Iterator[SAMLProvider]:
    """The pysaml2 IdP as the portal's SAML provider (IDP_SAML_* as in production); the IdP
    reads the portal's SP metadata from its stable URL."""
    from config.settings.base import _socialaccount_providers

    saml_server.faults()
    monkeypatch.setenv("IDP_SAML_IDP_ENTITY_ID", saml_server.entity_id)
    monkeypatch.setenv("IDP_SAML_SSO_URL", saml_server.sso_url)
    monkeypatch.setenv("IDP_SAML_X509_CERT", saml_server.cert)
    monkeypatch.setenv("IDP_SAML_NAME", "Company SAML")
    settings.SOCIALACCOUNT_PROVIDERS = _socialaccount_providers()
    saml_server.load_sp_metadata(f"{live_server.url}/accounts/sso/saml/metadata/")
    yield saml_server
    saml_server.faults()


def saml_sign_in(live_url: str, username: str, *, password: str = "pw") -> Any:
    """The SAML round trip over HTTP: portal → IdP login → signed answer posted to the ACS.
    Returns the final response, the session and the posted answer (to replay it)."""
    import html

    session = requests.Session()
    idp_page = start_sso(session, f"{live_url}/accounts/saml/idp/login/")
    assert "/sso/redirect" in idp_page.url, idp_page.text[:2000]
    key = re.search(r'name="key" value="([^"]+)"', idp_page.text).group(1)
    base = idp_page.url.split("/sso/")[0]
    answer = session.post(
        f"{base}/sso/login",
        data={"key": key, "username": username, "password": password},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text[:2000]
    action = html.unescape(re.search(r'action="([^"]+)"', answer.text).group(1))
    fields = {k: html.unescape(v) for k, v in form_fields(answer.text).items()}
    final = session.post(action, data=fields, timeout=30)
    return final, session, (action, fields)


@dataclass
class GitHubOAuth:
    url: str

    def add_user(self, login: str, *, email: str, password: str = "pw") -> None:
        body = {"login": login, "email": email, "name": login.title(), "password": password}
        requests.post(f"{self.url}/_test/users", json=body, timeout=5).raise_for_status()


@pytest.fixture(scope="session")
def github_oauth_server() -> Iterator[GitHubOAuth]:
    port = free_port()
    proc = start_process(
        "tests.identity.idps.github_oauth",
        port,
        "--client-id",
        "Iv1.portal",
        "--client-secret",
        "gh-secret",
        ready_path="/_test/health",
    )
    yield GitHubOAuth(f"http://127.0.0.1:{port}")
    stop_process(proc)


@pytest.fixture
def github_oauth(github_oauth_server: GitHubOAuth, settings: Any, monkeypatch: Any) -> GitHubOAuth:
    """allauth's GitHub provider pointed at the GitHub-shaped server (IDP_GITHUB_* as in
    production; IDP_GITHUB_URL is read when allauth's adapter is imported, so its URLs are
    set here the way that import sets them)."""
    from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter

    from config.settings.base import _socialaccount_providers

    monkeypatch.setenv("IDP_GITHUB_CLIENT_ID", "Iv1.portal")
    monkeypatch.setenv("IDP_GITHUB_CLIENT_SECRET", "gh-secret")
    monkeypatch.setenv("IDP_GITHUB_URL", github_oauth_server.url)
    settings.SOCIALACCOUNT_PROVIDERS = _socialaccount_providers()
    web = settings.SOCIALACCOUNT_PROVIDERS["github"]["GITHUB_URL"]
    for name, url in {
        "web_url": web,
        "api_url": f"{web}/api/v3",
        "access_token_url": f"{web}/login/oauth/access_token",
        "authorize_url": f"{web}/login/oauth/authorize",
        "profile_url": f"{web}/api/v3/user",
        "emails_url": f"{web}/api/v3/user/emails",
    }.items():
        monkeypatch.setattr(GitHubOAuth2Adapter, name, url)
    return github_oauth_server


def github_sign_in(live_url: str, login: str, *, password: str = "pw") -> Any:
    import html

    session = requests.Session()
    page = start_sso(session, f"{live_url}/accounts/github/login/")
    assert "/login/oauth/authorize" in page.url, page.text[:2000]
    action = html.unescape(re.search(r'action="([^"]+)"', page.text).group(1))
    base = page.url.split("/login/oauth/")[0]
    final = session.post(base + action, data={"login": login, "password": password}, timeout=30)
    return final, session
