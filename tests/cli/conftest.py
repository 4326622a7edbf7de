"""Run the `idp` CLI in-process (Typer's CliRunner) against a live test server over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from idp import services
from idp.cli.main import app


class CLI:
    """`cli("resources", "list", token=...)` → click Result; URL is the live server by default."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(
        self, *args: str, token: str | None = None, url: str | None = None, input: str | None = None
    ) -> Any:
        env = {"IDP_URL": url or self.url, "IDP_TOKEN": token}
        return self.runner.invoke(app, list(args), env=env, input=input)


@pytest.fixture
def cli(live_server: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> CLI:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("IDP_POLL_INTERVAL", "0.1")
    for name in ("IDP_URL", "IDP_TOKEN", "IDP_OUTPUT"):
        monkeypatch.delenv(name, raising=False)
    return CLI(live_server.url)


@pytest.fixture
def token_for() -> Callable[[Any], str]:
    """A fresh personal API token for a user."""

    def make(user: Any) -> str:
        return services.create_api_token(user, name="cli-test")[1]

    return make


def one_error_line(result: Any) -> str:
    """The CLI's stderr must be exactly one `error: …` line."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]
