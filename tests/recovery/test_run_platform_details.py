"""`make run`'s details, on a real `run_platform` with the demo's activity: the console says
what a newcomer needs (one line for the migrations, where e-mails go), e-mail links use the
port it serves on, the finished demo child is reaped (no `<defunct>`), and a second SIGTERM
during the shutdown is ignored like a second Ctrl-C.

The demo's Terraform is a binary that fails at once, so its activity ends in seconds (with
problems): what is tested is that its process is reaped, not the demo.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.utils import free_port

from .ops_procs import MANAGE, Procs, processes, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(600)]


@dataclass
class Platform:
    procs: Procs
    proc: subprocess.Popen[bytes]
    var: Path
    port: int
    console_log: Path

    def console(self) -> str:
        return self.console_log.read_text(errors="replace")

    def terminal(self) -> dict[str, str]:
        """A second terminal's environment: nothing but where `make run` keeps var/."""
        return self.procs.env(IDP_VAR_DIR=str(self.var))


def zombies_of(pid: int) -> list[str]:
    """`pid`'s children that ended and were never reaped (state Z)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] == "Z":
            found.append(entry.name)
    return found


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("make-run-details")
    var = root / "var"
    with processes(root) as procs:
        port, aws_port = free_port(), free_port()
        console = root / "console.log"
        env = procs.env(
            IDP_VAR_DIR=str(var),
            DATABASE_URL=f"sqlite:///{var / 'idp.sqlite3'}",
            CELERY_BROKER_URL="filesystem://",
            IDP_BROKER_DIR=str(var / "broker"),
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="eu-west-1",
            # Every plan fails at once: the demo's activity ends quickly.
            IDP_TERRAFORM_BIN=shutil.which("false") or "/bin/false",
        )
        proc = procs.start(
            [
                *(sys.executable, MANAGE, "run_platform", "--var-dir", str(var)),
                # --port, not IDP_PORT: the links must follow the port it really serves on.
                *("--port", str(port), "--aws-port", str(aws_port)),
            ],
            env,
            console,
        )

        def started() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"run_platform exited ({proc.returncode}):\n{console.read_text()}")
            return "Ctrl-C stops everything" in console.read_text()

        wait_until(started, "make run to start", 240)
        yield Platform(procs, proc, var, port, console)


def test_the_console_says_what_a_newcomer_needs(platform: Platform) -> None:
    console = platform.console()
    assert "Database migrated: " in console and "migrations applied" in console
    assert "Operations to perform" not in console and "Applying " not in console
    # The catalog in one line, not one per template; the sign-ins once, in the banner.
    assert re.search(r"^\d+ loaded \(\d+ new, \d+ changed\), 0 failed$", console, re.M)
    assert "created   example-config" not in console
    assert console.count("\n  alice  ") == 1 and "Demo data ready" not in console
    assert f"E-mails are written to {platform.var / 'mail'}/, not sent." in console


def test_email_links_use_the_port_it_serves_on(platform: Platform) -> None:
    assert json.loads((platform.var / "run-env.json").read_text())["env"]["IDP_PORT"] == str(
        platform.port
    )
    sent = platform.procs.manage(
        "shell",
        "-c",
        "from provisioning.notifications import send_mails, site_url; "
        "send_mails('A link', site_url('/resources/1/'), ['alice@example.com']); "
        "send_mails('Another', site_url('/'), ['bob@example.com'])",
        env=platform.terminal(),
    )
    # Where the e-mails went, said once; not their bodies.
    mail = platform.var / "mail"
    assert sent.stderr.count(f"(e-mails are written to {mail}, not sent)") == 1, sent.stderr
    assert "A link" not in sent.stdout + sent.stderr
    bodies = "".join(path.read_text() for path in mail.iterdir())
    assert f"http://localhost:{platform.port}/resources/1/" in bodies


def test_the_finished_demo_child_is_reaped(platform: Platform) -> None:
    wait_until(
        lambda: "demo: finished" in platform.console() or "demo: ready" in platform.console(),
        "the demo's activity to end",
        300,
    )
    # The child may still be exiting; run_platform looks at it every half second. A
    # `<defunct>` that stays (it did, before) fails here.
    wait_until(
        lambda: (
            "The demo is incomplete" in platform.console() or "demo: ready" in platform.console()
        ),
        "the demo's process to end",
        60,
    )

    # A child is a zombie for an instant between its exit and the next look (every half
    # second); one that is still there three looks later was never reaped.
    def lasting_zombies() -> set[str]:
        first = set(zombies_of(platform.proc.pid))
        time.sleep(1.5)
        return first & set(zombies_of(platform.proc.pid))

    wait_until(lambda: not lasting_zombies(), "no lasting <defunct> child of run_platform", 15)
    assert not lasting_zombies(), platform.console()[-2000:]
    assert platform.proc.poll() is None


def test_a_second_sigterm_during_shutdown_is_ignored(platform: Platform) -> None:
    platform.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: "Stopping" in platform.console(), "run_platform to start stopping", 30)
    assert "Stopped." not in platform.console()  # still shutting down
    platform.proc.send_signal(signal.SIGTERM)
    platform.proc.send_signal(signal.SIGINT)
    assert platform.proc.wait(timeout=90) == 0, platform.console()[-3000:]
    console = platform.console()
    assert "Traceback" not in console and "KeyboardInterrupt" not in console, console[-3000:]
    assert console.rstrip().endswith("Stopped.")
