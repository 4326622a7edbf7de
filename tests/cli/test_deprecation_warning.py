"""The CLI tells its user when the server has deprecated an operation it used (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from idp.api import deprecation
from idp.api.deprecation import Deprecation

pytestmark = pytest.mark.django_db


@pytest.fixture
def me_deprecated(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = Deprecation(
        operation="idp.api.views.MeView.get",
        announced=date(2027, 1, 4),
        sunset=date(2027, 7, 5),
        successor="/api/v1/teams/",
        note="Your teams are listed there.",
    )
    monkeypatch.setattr(deprecation, "DEPRECATIONS", [entry])


def test_the_cli_warns_on_stderr_once_per_operation(
    me_deprecated: None, cli: Any, alice: Any, token_for: Any
) -> None:
    result = cli("whoami", token=token_for(alice))

    assert result.exit_code == 0, result.stderr
    assert "alice" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: GET /api/v1/me/ is deprecated by the server and may be removed after "
        "Mon, 05 Jul 2027 23:59:59 GMT; use /api/v1/teams/ "
        "(see the server's /api/v1/changelog/; upgrade the CLI)"
    ]


def test_no_warning_when_nothing_is_deprecated(cli: Any, alice: Any, token_for: Any) -> None:
    result = cli("whoami", token=token_for(alice))

    assert result.exit_code == 0, result.stderr
    assert "warning:" not in result.stderr
