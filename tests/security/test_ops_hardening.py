"""Operations hardening (issue 24, findings 10 and 11): what `make run` and production show a
stranger when something breaks, and who may read the API's schema.

`make run` runs with DEBUG on (config/settings/dev.py). Under DEBUG, Django answers an uncaught
exception with its technical 500 page: the traceback, every setting and the request's
environment (DATABASE_URL unmasked). These tests raise through the same middleware and
handlers as `make run` (settings.DEBUG = True) and read the page a client gets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse
from rest_framework.request import Request
from rest_framework.views import APIView

import config.urls
from idp import conf

MARKER = "boom-6f1d-do-not-show"
# What the technical pages show and the portal's never does.
LEAKS = (
    MARKER,
    "Traceback",
    "DATABASE",
    "SECRET_KEY",
    "Request information",
    "Settings",
    "META",
    "ALLOWED_HOSTS",
    "Exception Value",
    "site-packages",
)


def _raise(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(MARKER)


def _raise_in_template(request: HttpRequest) -> HttpResponse:
    from django.template import engines
    from django.template.response import TemplateResponse

    # A template that fails while rendering (after the view returned).
    template = engines["django"].from_string("{% url 'no-such-view-" + MARKER + "' %}")
    return TemplateResponse(request, template, {})


class _RaisingAPI(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    def get(self, request: Request) -> HttpResponse:
        raise KeyError(MARKER)


# The platform's own URLs plus a few that raise: this module is the ROOT_URLCONF of the
# tests below (handler500 as the platform sets it).
urlpatterns = [
    *config.urls.urlpatterns,
    path("boom/", _raise),
    path("boom-template/", _raise_in_template),
    path("api/v1/boom/", _RaisingAPI.as_view()),
    path("api/v1/boom-plain/", _raise),
]
handler404 = config.urls.handler404
handler500 = config.urls.handler500


@pytest.fixture
def make_run_errors(settings: Any) -> Client:
    """A client of a platform configured as `make run` configures it (DEBUG on), whose
    exceptions come back as responses (as a browser would see them)."""
    settings.DEBUG = True
    settings.ROOT_URLCONF = __name__
    return Client(raise_request_exception=False)


def _no_leak(body: str) -> None:
    for leak in LEAKS:
        assert leak not in body, leak


def test_make_run_is_debug_so_the_technical_page_is_what_these_tests_guard() -> None:
    """The premise: `make run`'s settings module turns DEBUG on, with the same middleware."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; import json; "
            "print(json.dumps([settings.DEBUG, settings.MIDDLEWARE]))",
        ],
        env={
            **{k: v for k, v in os.environ.items() if k != "IDP_DEBUG"},
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        },
        capture_output=True,
        text=True,
        timeout=60,
        cwd=django_settings.BASE_DIR,
        check=True,
    )
    debug, middleware = json.loads(done.stdout.strip().splitlines()[-1])
    assert debug is True
    assert middleware == django_settings.MIDDLEWARE


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/boom/", "/boom-template/"])
def test_a_portal_error_under_make_run_is_the_portal_500_page(
    make_run_errors: Client, url: str
) -> None:
    response = make_run_errors.get(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body and 'id="server-error"' in body
    _no_leak(body)


@pytest.mark.django_db
def test_a_portal_error_asked_as_plain_text_is_no_traceback_either(
    make_run_errors: Client,
) -> None:
    # Django's technical 500 answers clients that do not accept HTML with a text traceback.
    response = make_run_errors.get("/boom/", HTTP_ACCEPT="text/plain")
    assert response.status_code == 500
    _no_leak(response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/boom/", "/api/v1/boom-plain/"])
def test_an_api_error_under_make_run_is_json_without_a_traceback(
    make_run_errors: Client, url: str
) -> None:
    response = make_run_errors.get(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Server error."}
    _no_leak(response.content.decode())


@pytest.mark.django_db
def test_a_disallowed_host_under_make_run_shows_no_settings(make_run_errors: Client) -> None:
    """DisallowedHost is raised inside a middleware; DEBUG's page for it (a 400) lists the
    settings too."""
    response = make_run_errors.get("/", HTTP_HOST="attacker.example", HTTP_ACCEPT="text/html")
    assert response.status_code == 400
    _no_leak(response.content.decode())
    assert "attacker.example" not in response.content.decode()


@pytest.mark.django_db
def test_the_error_is_still_logged_for_whoever_runs_the_platform(
    make_run_errors: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("ERROR", logger="django.request"):
        make_run_errors.get("/boom/")
    # The traceback goes to the log (web.log under `make run`), not to the client.
    assert any(r.exc_info and MARKER in str(r.exc_info[1]) for r in caplog.records)


# --- The API's schema and docs (finding 11) -----------------------------------------------


def test_the_schema_is_private_by_default_and_open_in_dev_and_test() -> None:
    assert conf.BY_NAME["IDP_API_SCHEMA_PUBLIC"].default is False
    assert django_settings.IDP_API_SCHEMA_PUBLIC is True  # test settings (API contract tests)


def _setting_in(module: str, name: str, extra_env: dict[str, str] | None = None) -> Any:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("IDP_")},
        "DJANGO_SETTINGS_MODULE": module,
        "IDP_SECRET_KEY": "x" * 64,
        **(extra_env or {}),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from django.conf import settings; import json; print(json.dumps(settings.{name}))",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=django_settings.BASE_DIR,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_production_keeps_the_schema_private_unless_told() -> None:
    assert _setting_in("config.settings.production", "IDP_API_SCHEMA_PUBLIC") is False
    assert (
        _setting_in(
            "config.settings.production", "IDP_API_SCHEMA_PUBLIC", {"IDP_API_SCHEMA_PUBLIC": "true"}
        )
        is True
    )
    assert _setting_in("config.settings.dev", "IDP_API_SCHEMA_PUBLIC") is True


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/schema/?format=json", "/api/schema/"])
def test_a_private_schema_answers_401_to_strangers(settings: Any, client: Client, url: str) -> None:
    settings.IDP_API_SCHEMA_PUBLIC = False
    response = client.get(url)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert b"/api/v1/" not in response.content


@pytest.mark.django_db
def test_private_docs_send_a_stranger_to_sign_in(settings: Any, client: Client) -> None:
    settings.IDP_API_SCHEMA_PUBLIC = False
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse(django_settings.LOGIN_URL))
    assert "next=/api/docs/" in response["Location"]


@pytest.mark.django_db
def test_a_private_schema_is_served_to_a_signed_in_user(
    settings: Any, client_as: Any, api_as: Any, alice: Any
) -> None:
    settings.IDP_API_SCHEMA_PUBLIC = False
    by_token = api_as(alice).get("/api/schema/?format=json")
    assert by_token.status_code == 200 and "/api/v1/teams/" in by_token.json()["paths"]
    session = client_as(alice)
    assert session.get("/api/schema/?format=json").status_code == 200
    docs = session.get("/api/docs/")
    assert docs.status_code == 200 and "swagger-ui" in docs.content.decode()


@pytest.mark.django_db
def test_a_public_schema_is_served_to_anyone(settings: Any, client: Client) -> None:
    settings.IDP_API_SCHEMA_PUBLIC = True
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200 and "/api/v1/teams/" in schema.json()["paths"]
    assert client.get("/api/docs/").status_code == 200
