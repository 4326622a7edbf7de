"""Sign-in, config file, output formats and exit codes of the `idp` CLI over real HTTP."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import yaml

from idp.cli import config
from idp.cli.main import app
from idp.models import APIToken
from tests.utils import free_port

from .conftest import one_error_line


def test_login_stores_url_and_token_0600_and_whoami_uses_them(cli, alice, token_for):
    token = token_for(alice)
    result = cli("login", "--url", cli.url, "--token", token)
    assert result.exit_code == 0, result.output
    assert "alice" in result.stdout
    path = config.config_path()
    assert str(path).startswith(os.environ["XDG_CONFIG_HOME"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = config.load()
    assert (stored.url, stored.token) == (cli.url, token)

    # No IDP_URL / IDP_TOKEN: the stored config is used.
    result = cli.runner.invoke(app, ["whoami"], env={"IDP_URL": None, "IDP_TOKEN": None})
    assert result.exit_code == 0, result.output
    assert "alice" in result.stdout and "payments (member)" in result.stdout


def test_environment_overrides_the_stored_token(cli, alice, carol, token_for):
    config.save(config.Config(url=cli.url, token=token_for(alice)))
    result = cli("whoami", "-o", "json", token=token_for(carol))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["user"]["username"] == "carol"


def test_login_with_username_and_password_makes_a_personal_token(cli, alice):
    before = APIToken.objects.filter(user=alice).count()
    result = cli("login", "--url", cli.url, "--username", "alice", input="pw-alice\n")
    assert result.exit_code == 0, result.output
    assert APIToken.objects.filter(user=alice).count() == before + 1
    assert config.load().token.startswith(APIToken.PREFIX)
    assert "pw-alice" not in config.config_path().read_text()


def test_login_with_a_bad_token_exits_3_and_writes_nothing(cli, alice):
    result = cli("login", "--url", cli.url, "--token", "idp_not-a-real-token")
    assert result.exit_code == 3
    assert "not signed in" in one_error_line(result)
    assert not config.config_path().exists()


def test_login_with_a_wrong_password_exits_3(cli, alice):
    result = cli("login", "--url", cli.url, "--username", "alice", input="wrong\n")
    assert result.exit_code == 3, result.output
    one_error_line(result)


def test_whoami_as_json_and_yaml(cli, bob, token_for):
    token = token_for(bob)
    as_json = cli("whoami", "--output", "json", token=token)
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert body["teams"] == [{"slug": "payments", "name": "Payments", "role": "maintainer"}]
    as_yaml = cli("whoami", "-o", "yaml", token=token)
    assert as_yaml.exit_code == 0
    assert yaml.safe_load(as_yaml.stdout) == body


def test_not_signed_in_exits_3(cli, alice):
    result = cli("whoami")
    assert result.exit_code == 3
    assert "idp login" in one_error_line(result)
    result = cli("whoami", token="idp_revoked-or-wrong")
    assert result.exit_code == 3
    assert "Invalid or revoked API token" in one_error_line(result)


def test_server_unreachable_exits_5(cli, alice, token_for):
    url = f"http://127.0.0.1:{free_port()}"
    result = cli("whoami", token=token_for(alice), url=url)
    assert result.exit_code == 5
    assert "cannot reach" in one_error_line(result)


def test_usage_errors_exit_2(cli, alice, token_for):
    token = token_for(alice)
    assert cli("no-such-command", token=token).exit_code == 2
    missing = cli("resources", "create", "--template", "example-config", token=token)
    assert missing.exit_code == 2
    bad_param = cli(
        "resources",
        "create",
        "-t",
        "example-config",
        "--team",
        "payments",
        "-e",
        "dev",
        "-n",
        "x",
        "-p",
        "no-equals-sign",
        token=token,
    )
    assert bad_param.exit_code == 2
    assert "key=value" in one_error_line(bad_param)
    bad_output = cli("whoami", "-o", "xml", token=token)
    assert bad_output.exit_code == 2


def test_unknown_object_exits_4(cli, alice, token_for):
    result = cli("resources", "show", "999999", token=token_for(alice))
    assert result.exit_code == 4
    assert "404" in one_error_line(result)


def test_status_shows_workers_and_runs(cli, alice, token_for):
    result = cli("status", "-o", "json", token=token_for(alice))
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert set(body) >= {"workers", "queue_depth", "runs", "last_successful_run"}
    assert body["runs"]["failed_last_hour"] == 0
    table = cli("status", token=token_for(alice))
    assert table.exit_code == 0
    assert "runs failed (last hour)" in table.stdout


def test_console_script_runs_outside_django(live_server, alice, token_for, tmp_path):
    """The real entry point in a fresh interpreter: no Django settings needed."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "IDP_URL": live_server.url,
        "IDP_TOKEN": token_for(alice),
    }
    code = "from idp.cli.main import app; app()"
    done = subprocess.run(
        [sys.executable, "-c", code, "whoami", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["user"]["username"] == "alice"
