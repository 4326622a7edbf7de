"""API errors are JSON for every status, under DEBUG too (`make run` has it on); a request
that meets a database that is gone is a 503 with Retry-After, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from idp.api import views as api_views
from idp.ops import metrics
from tests.utils import assert_error

GONE = {"detail": "The database is unavailable; try again in a few seconds."}


@pytest.fixture(params=[True, False], ids=["debug", "no-debug"])
def debug(request: Any, settings: Any) -> bool:
    settings.DEBUG = request.param
    return bool(request.param)


def test_an_unknown_api_url_is_a_json_404(debug: bool, db: None) -> None:
    response = Client().get("/api/v1/no-such-thing/")
    assert response["Content-Type"] == "application/json"
    assert assert_error(response, 404) == {"detail": "Not found."}


def test_an_exception_in_an_api_view_is_a_json_500(
    debug: bool, api_as: Any, alice: Any, monkeypatch: Any
) -> None:
    def broken(self: Any, request: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(api_views.MeView, "get", broken)
    client = api_as(alice)
    client.raise_request_exception = False  # Django re-raises it in tests otherwise
    response = client.get("/api/v1/me/")
    assert response["Content-Type"] == "application/json"
    assert assert_error(response, 500) == {"detail": "Server error."}
    assert b"a bug" not in response.content and b"Traceback" not in response.content


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_view_meeting_a_dead_connection_is_a_503(
    debug: bool, api_as: Any, alice: Any, monkeypatch: Any, error: type[Exception]
) -> None:
    def gone(self: Any, request: Any) -> Any:
        raise error("server closed the connection unexpectedly")

    monkeypatch.setattr(api_views.MeView, "get", gone)
    response = api_as(alice).get("/api/v1/me/")
    assert assert_error(response, 503) == GONE
    assert response["Retry-After"] == "5"


def test_a_dead_connection_outside_a_view_is_a_503_too(
    debug: bool, db: None, monkeypatch: Any
) -> None:
    """Raised in a middleware (the session, the sign-in lockout): not a view's exception."""

    def gone(self: Any, request: Any) -> Any:
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(metrics.RequestMetricsMiddleware, "__call__", gone)
    client = Client(raise_request_exception=False)
    api = client.get("/api/v1/me/")
    assert assert_error(api, 503) == GONE and api["Retry-After"] == "5"
    page = client.get("/catalog/")
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert b"The database is unavailable" in page.content
