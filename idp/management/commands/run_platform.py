"""`make run`: the whole platform on one machine with nothing else installed.

Migrates SQLite, seeds demo data, then starts a local AWS API (moto server),
a Celery worker and beat on the filesystem broker, and the portal. Ctrl-C
stops everything it started.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port")


def wait_for_port(port: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


class Command(BaseCommand):
    help = "Run portal, worker, beat and a local AWS API together (what `make run` calls)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("IDP_PORT", "8000")))
        parser.add_argument(
            "--aws-port", type=int, default=int(os.environ.get("IDP_MOTO_PORT", "5055"))
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base = Path(settings.BASE_DIR)
        var = base / "var"
        (var / "broker" / "out").mkdir(parents=True, exist_ok=True)
        (var / "broker" / "processed").mkdir(parents=True, exist_ok=True)
        (var / "broker" / "control").mkdir(parents=True, exist_ok=True)
        aws_port = free_port(options["aws_port"])
        aws_url = f"http://127.0.0.1:{aws_port}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "idp.settings.dev"),
            "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "filesystem://"),
            "AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL", aws_url),
            "IDP_SANDBOX_AWS_ENDPOINT": aws_url,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"),
        }
        python = sys.executable
        manage = str(base / "manage.py")
        procs: list[tuple[str, subprocess.Popen[bytes]]] = []

        def start(name: str, cmd: list[str]) -> None:
            log = open(var / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
            procs.append(
                (name, subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
            )

        def stop(*_: Any) -> None:
            for _name, proc in reversed(procs):
                if proc.poll() is None:
                    proc.terminate()
            for _name, proc in procs:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()

        def interrupt(*_: Any) -> None:
            raise KeyboardInterrupt

        # Explicit handlers: a shell may start us with SIGINT ignored (e.g. in the background).
        signal.signal(signal.SIGINT, interrupt)
        signal.signal(signal.SIGTERM, interrupt)
        try:
            start("aws", [python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(aws_port)])
            if not wait_for_port(aws_port):
                self.stderr.write("The local AWS API did not start; see var/aws.log")
                return
            for step in (
                ["migrate", "--no-input"],
                ["seed_demo"],
                ["sync_templates"],
                ["ensure_state_backend"],
            ):
                # A template that fails to load, or a state bucket error, is reported above
                # and the portal still starts; a database that cannot migrate stops here.
                done = subprocess.run(
                    [python, manage, *step], env=env, check=step[0] in {"migrate", "seed_demo"}
                )
                if done.returncode:
                    self.stderr.write(f"manage.py {step[0]} failed (exit {done.returncode})")
            start(
                "worker",
                [python, "-m", "celery", "-A", "idp", "worker", "-l", "INFO", "--concurrency", "2"],
            )
            start(
                "beat",
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "idp",
                    "beat",
                    "-l",
                    "INFO",
                    "-s",
                    str(var / "celerybeat-schedule"),
                ],
            )
            start(
                "web", [python, manage, "runserver", f"127.0.0.1:{options['port']}", "--noreload"]
            )
            wait_for_port(options["port"])
            creds = json.loads((var / "demo-credentials.json").read_text())
            self.stdout.write(
                self.style.SUCCESS(f"\nIDP is running at http://127.0.0.1:{options['port']}/")
            )
            self.stdout.write(f"Local AWS API (moto) at {aws_url}; logs in var/*.log")
            self.stdout.write("Demo sign-ins:")
            for user, password in creds.items():
                self.stdout.write(f"  {user:<6} {password}")
            self.stdout.write("Ctrl-C stops everything.\n")
            while all(proc.poll() is None for _, proc in procs):
                time.sleep(1)
            dead = [name for name, proc in procs if proc.poll() is not None]
            self.stderr.write(
                f"{', '.join(dead)} stopped; see var/{dead[0]}.log. Stopping the rest."
            )
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            stop()
