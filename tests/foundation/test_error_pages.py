"""404 and 500 pages in the portal's style, never Django's technical pages; API errors JSON."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from idp.management.commands.create_team import Command as CreateTeam
from idp.models import Team

# What Django's DEBUG 404 page shows: the URL patterns of the whole platform.
TECHNICAL = (
    "Using the URLconf",
    "Django tried these URL patterns",
    "technical_404",
    "DEBUG = True",
)


def _names(response: Any) -> list[str]:
    return [t.name for t in response.templates if t.name]


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_portal_url_shows_the_portal_404(
    settings: Any, client_as: Any, alice: Any, debug: bool
) -> None:
    settings.DEBUG = debug
    response = client_as(alice).get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "404.html" in _names(response) and 'id="not-found"' in html
    assert "<code>/no-such-page/</code>" in html and 'href="/catalog/"' in html
    for text in TECHNICAL:
        assert text not in html
    assert "api/v1/" not in html  # no URL listing


@pytest.mark.parametrize("debug", [False, True])
def test_not_found_raised_by_a_view_shows_the_portal_404(
    settings: Any, client_as: Any, alice: Any, debug: bool
) -> None:
    settings.DEBUG = debug
    response = client_as(alice).get("/catalog/templates/nope/")
    assert response.status_code == 404 and "404.html" in _names(response)
    assert not any(text in response.content.decode() for text in TECHNICAL)


def test_signed_out_404_offers_sign_in(settings: Any, client: Client) -> None:
    settings.DEBUG = True
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and "Sign in" in response.content.decode()


@pytest.mark.parametrize("debug", [False, True])
def test_api_404_stays_json(settings: Any, api_as: Any, alice: Any, debug: bool) -> None:
    settings.DEBUG = debug
    for url in ("/api/v1/no-such-thing/", "/api/v1/resources/999999/"):
        response = api_as(alice).get(url)
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
        assert "detail" in response.json()


def test_server_error_shows_the_portal_500(settings: Any, alice: Any) -> None:
    settings.ROOT_URLCONF = "tests.foundation.error_urls"
    client = Client(raise_request_exception=False)
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "500.html" in _names(response) and 'id="server-error"' in html
    assert "Something went wrong" in html and "favicon.svg" in html
    assert "s3cr3t" not in html and "Traceback" not in html
    api = client.get("/api/v1/boom/")
    assert api.status_code == 500 and api.json() == {"detail": api.json()["detail"]}
    assert "s3cr3t" not in api.content.decode()


def test_pages_link_the_favicon(client_as: Any, alice: Any) -> None:
    page = client_as(alice).get("/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in page
    found = finders.find("favicon.svg")
    assert found and "<svg" in Path(str(found)).read_text()


def test_create_team_with_a_bad_slug_prints_one_readable_line(transactional_db: None) -> None:
    # run_from_argv closes the connections, as a real command does: no test transaction.
    err, out = io.StringIO(), io.StringIO()
    command = CreateTeam(stdout=out, stderr=err)
    with pytest.raises(SystemExit) as exit_:
        command.run_from_argv(["manage.py", "create_team", "Bad Slug"])
    assert exit_.value.code not in (0, None)
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    assert lines == [
        "CommandError: Cannot create team 'Bad Slug': slug: Use 1-63 lowercase letters, "
        "digits and hyphens, starting and ending with a letter or digit"
    ]
    assert not Team.objects.exists()
