"""`make run`: the whole platform on one machine with nothing else installed.

Migrates SQLite, seeds demo data, then starts a local AWS API (moto server), a Celery
worker and beat on the filesystem broker, and the portal, and keeps them running: a child
that exits is restarted after a pause that doubles each time it dies soon after starting,
and after MAX_QUICK_DEATHS such deaths in a row the platform stops. The local AWS API's
data survives restarts (its requests are recorded in `var/aws-state.jsonl` and replayed
when it starts). The settings the children get are written to `var/run-env.json` for
commands started from another terminal (see idp/runenv.py). Once the worker and the portal
are up, the demo's activity is added beside them (`seed_demo --activity`, see config/demo;
`--no-demo-activity` skips it). Ctrl-C stops everything.

`python -m config.management.commands.run_platform serve-aws PORT FILE` is the local AWS
API child itself.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from idp import runenv
from idp.conf import env_int, read

# A child that dies within QUICK_SECONDS of starting counts as a quick death; the pause
# before a restart doubles with each one in a row (2, 4, 8, … s, at most MAX_PAUSE), and
# MAX_QUICK_DEATHS in a row stop the platform: something is wrong that a restart won't fix.
QUICK_SECONDS = 30.0
FIRST_PAUSE = 2.0
MAX_PAUSE = 30.0
MAX_QUICK_DEATHS = 5
AWS_STATE_FILE = "aws-state.jsonl"


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port")


def wait_for_port(
    port: int, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def webhook_secret(var: Path) -> str:
    """The GitHub webhook secret of this `make run` folder: made once, kept in var/ (0600)."""
    path = var / "github-webhook-secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


@dataclass
class Restarts:
    """When a child that exited may start again, and when to give up on it."""

    quick_deaths: int = 0

    def after_exit(self, ran_for: float) -> float | None:
        """Seconds to wait before the restart, or None: it keeps dying, stop trying."""
        self.quick_deaths = self.quick_deaths + 1 if ran_for < QUICK_SECONDS else 1
        if self.quick_deaths >= MAX_QUICK_DEATHS:
            return None
        return float(min(FIRST_PAUSE * 2 ** (self.quick_deaths - 1), MAX_PAUSE))


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when run_platform dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG


@dataclass
class Child:
    name: str
    cmd: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    restarts: Restarts = field(default_factory=Restarts)
    _log: IO[bytes] | None = None

    def start(self) -> None:
        if self._log is None:
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        # Its own process group, so that stopping it stops what it started (pool
        # processes, Terraform) and Ctrl-C reaches run_platform alone, which stops the rest.
        self.proc = subprocess.Popen(
            self.cmd,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # run_platform starts no threads, so a preexec_fn is safe here.
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal_group(self, signum: int) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signum)

    def stop(self, deadline: float) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.proc.wait(timeout=10)
            self.signal_group(signal.SIGKILL)  # anything of its group left behind
        if self._log is not None:
            self._log.close()
            self._log = None


class Command(BaseCommand):
    help = "Run portal, worker, beat and a local AWS API together (what `make run` calls)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=read("IDP_PORT"))
        parser.add_argument("--aws-port", type=int, default=env_int("IDP_MOTO_PORT", 5055))
        parser.add_argument(
            "--var-dir",
            default="",
            help="Folder of the database, broker, logs and run-env.json (default: IDP_VAR_DIR)",
        )
        parser.add_argument(
            "--no-demo-activity",
            action="store_true",
            help="Seed only the demo's people and places, not its activity (costs, metrics, "
            "resources, a pipeline's runs)",
        )

    def say(self, text: str, style: Any = None) -> None:
        self.stdout.write(style(text) if style else text)
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        var = Path(options["var_dir"] or settings.IDP_VAR_DIR).resolve()
        running = runenv.read(var)
        if running is not None and running["pid"] != os.getpid():
            raise CommandError(
                f"make run is already running from {var} (pid {running['pid']}); stop it first"
            )
        for folder in ("out", "processed", "control"):
            (var / "broker" / folder).mkdir(parents=True, exist_ok=True)
        aws_port = free_port(options["aws_port"])
        aws_url = f"http://127.0.0.1:{aws_port}"
        # What the children share, and what a command in another terminal needs to reach them.
        shared = {
            "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{var / 'idp.sqlite3'}"),
            "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "filesystem://"),
            "IDP_BROKER_DIR": os.environ.get("IDP_BROKER_DIR", str(var / "broker")),
            "AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL", aws_url),
            "IDP_SANDBOX_AWS_ENDPOINT": aws_url,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"),
            "IDP_WORK_DIR": os.environ.get("IDP_WORK_DIR", str(var / "runs")),
            "TF_PLUGIN_CACHE_DIR": os.environ.get(
                "TF_PLUGIN_CACHE_DIR", str(var / "terraform-plugin-cache")
            ),
            # The portal accepts signed GitHub webhooks only; the demo's pipeline runs arrive
            # that way too.
            "GITHUB_WEBHOOK_SECRET": os.environ.get("GITHUB_WEBHOOK_SECRET") or webhook_secret(var),
            # Runs' logs go to the local AWS API's CloudWatch Logs, as they would to AWS's.
            "IDP_CLOUDWATCH_RUN_LOGS": os.environ.get("IDP_CLOUDWATCH_RUN_LOGS", "true"),
            # The port the portal is served on: links in e-mails follow it (IDP_SITE_URL is
            # made from it unless set), in the worker and in a second terminal's commands too.
            "IDP_PORT": str(options["port"]),
        }
        env = {
            **os.environ,
            **shared,
            "IDP_VAR_DIR": str(var),
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "config.settings.dev"
            ),
            "PYTHONUNBUFFERED": "1",
        }
        python = sys.executable
        manage = str(Path(settings.BASE_DIR) / "manage.py")

        def child(name: str, cmd: list[str]) -> Child:
            return Child(name, cmd, env, var / f"{name}.log")

        aws = child(
            "aws",
            [python, "-m", __name__, "serve-aws", str(aws_port), str(var / AWS_STATE_FILE)],
        )
        others = [
            child(
                "worker",
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "-l",
                    "INFO",
                    "--concurrency",
                    "2",
                ],
            ),
            child(
                "beat",
                [
                    *(python, "-m", "celery", "-A", "config", "beat", "-l", "INFO"),
                    *("-s", str(var / "celerybeat-schedule")),
                ],
            ),
            child(
                "web", [python, manage, "runserver", f"127.0.0.1:{options['port']}", "--noreload"]
            ),
        ]
        children: list[Child] = []

        def interrupt(*_: Any) -> None:
            # The first signal stops the platform; a second Ctrl-C, SIGTERM or SIGHUP must
            # not cut that shutdown short (nor print a traceback).
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, signal.SIG_IGN)
            raise KeyboardInterrupt

        # Explicit handlers: a shell may start us with SIGINT ignored (e.g. in the background).
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, interrupt)
        gave_up = ""
        demo: subprocess.Popen[bytes] | None = None
        self.once: list[subprocess.Popen[bytes]] = []  # one-shot children, reaped as they end
        try:
            runenv.write(var, shared, os.getpid())
            aws.start()
            children.append(aws)
            if not wait_for_port(aws_port, timeout=60, proc=aws.proc):
                raise CommandError(f"The local AWS API did not start; see {aws.log_path}")
            self.migrate(python, manage, env)
            self.prepare(python, manage, env, var)
            for one in others:
                one.start()
                children.append(one)
            wait_for_port(options["port"])
            # The development settings write e-mails to files there unless told otherwise.
            mail_dir = None if os.environ.get("IDP_EMAIL_BACKEND") else var / "mail"
            self.banner(var, options["port"], aws_url, children, mail_dir)
            if not options["no_demo_activity"]:
                # The demo's activity needs the worker and the portal: it runs beside them,
                # once, printing its progress here; the portal is already serving.
                demo = subprocess.Popen(
                    [
                        *(python, manage, "seed_demo", "--activity"),
                        *("--portal-url", f"http://127.0.0.1:{options['port']}"),
                    ],
                    env=env,
                    start_new_session=True,
                )
                self.once.append(demo)
            gave_up = self.supervise(children)
        except KeyboardInterrupt:
            self.say("\nStopping…")
        finally:
            # Nor one during a shutdown for another reason (gave up, an error).
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, signal.SIG_IGN)
            if demo is not None and demo.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(demo.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    demo.wait(timeout=10)
            self.stop(children)
            runenv.remove(var, os.getpid())
            self.say("Stopped.")
        if gave_up:
            raise CommandError(gave_up)

    def migrate(self, python: str, manage: str, env: dict[str, str]) -> None:
        """Migrate quietly: one line saying what was applied; the whole output only when it
        fails (a database that cannot migrate stops here)."""
        started = time.monotonic()
        done = subprocess.run(
            [python, manage, "migrate", "--no-input"],
            env=env,
            check=False,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            self.stderr.write(done.stdout + done.stderr)
            raise CommandError(f"manage.py migrate failed (exit {done.returncode})")
        applied = sum(1 for line in done.stdout.splitlines() if line.strip().startswith("Apply"))
        took = time.monotonic() - started
        if applied:
            self.say(f"Database migrated: {applied} migrations applied ({took:.0f} s).")
        else:
            self.say("Database up to date.")

    def prepare(self, python: str, manage: str, env: dict[str, str], var: Path) -> None:
        """Demo data, the catalog and the state bucket, each in a line or less: the banner
        shows the sign-ins; the catalog's and the bucket's summary lines and any failure
        are printed, a template's "created"/"unchanged" lines are not."""
        for step in (
            ["seed_demo", "--credentials-file", str(var / "demo-credentials.json")],
            ["sync_templates"],
            ["ensure_state_backend"],
        ):
            done = subprocess.run(
                [python, manage, *step], env=env, check=False, capture_output=True, text=True
            )
            if done.returncode:
                self.stderr.write((done.stdout + done.stderr).rstrip())
                # Demo data that cannot be seeded stops here; a template that fails to load,
                # or a state bucket error, is reported and the portal still starts.
                if step[0] == "seed_demo":
                    raise CommandError(f"manage.py {step[0]} failed (exit {done.returncode})")
                self.stderr.write(f"manage.py {step[0]} failed (exit {done.returncode})")
            elif step[0] != "seed_demo":
                per_item = ("created ", "changed ", "unchanged ")
                for line in done.stdout.splitlines():
                    if line.strip() and not line.startswith(per_item):
                        self.say(line)

    def banner(
        self, var: Path, port: int, aws_url: str, children: list[Child], mail_dir: Path | None
    ) -> None:
        creds = json.loads((var / "demo-credentials.json").read_text())
        self.say(f"\nIDP is running at http://127.0.0.1:{port}/", self.style.SUCCESS)
        self.say(f"Local AWS API (moto) at {aws_url}; logs in {var}/*.log")
        self.say(
            "Processes: " + ", ".join(f"{c.name} (pid {c.proc.pid})" for c in children if c.proc)
        )
        self.say("Demo sign-ins:")
        for user, password in creds.items():
            self.say(f"  {user:<6} {password}")
        self.say(
            f"Commands in another terminal (manage.py …) use this platform ({var}/run-env.json)."
        )
        if mail_dir is not None:
            self.say(f"E-mails are written to {mail_dir}/, not sent.")
        self.say("Ctrl-C stops everything.\n")

    def supervise(self, children: list[Child]) -> str:
        """Restart children that exit, with backoff; returns why it gave up (never, normally)."""
        while True:
            now = time.monotonic()
            # A one-shot child that ended (the demo's activity) is reaped, not left <defunct>.
            self.once = [proc for proc in self.once if proc.poll() is None]
            for one in children:
                if one.restart_at is not None:
                    if now >= one.restart_at:
                        one.start()
                        self.say(f"{one.name} restarted (pid {one.proc.pid if one.proc else '?'})")
                    continue
                if one.running() or one.proc is None:
                    continue
                code = one.proc.returncode
                one.signal_group(signal.SIGKILL)  # its pool processes, Terraform runs
                pause = one.restarts.after_exit(now - one.started_at)
                if pause is None:
                    return (
                        f"{one.name} exited (code {code}) {MAX_QUICK_DEATHS} times in a row, each "
                        f"within {QUICK_SECONDS:g} s of starting; giving up (see {one.log_path})"
                    )
                self.say(
                    f"{one.name} exited (code {code}); restarting in {pause:g} s",
                    self.style.WARNING,
                )
                one.restart_at = now + pause
            time.sleep(0.5)

    def stop(self, children: list[Child]) -> None:
        # The local AWS API last: a worker finishing its task may still need it.
        first = [one for one in children if one.name != "aws"]
        last = [one for one in children if one.name == "aws"]
        for group, grace in ((first, 20.0), (last, 5.0)):
            for one in group:
                if one.running() and one.proc is not None:
                    one.proc.terminate()  # the leader shuts down what it started, if it can
            deadline = time.monotonic() + grace
            for one in group:
                one.stop(deadline)


# --- The local AWS API child ------------------------------------------------------------

READ_PREFIXES = ("Get", "List", "Describe", "Head")


def _changes_state(entry: dict[str, Any]) -> bool:
    """Whether a recorded request may change moto's state (reads are not kept)."""
    method = str(entry.get("method", "GET")).upper()
    if method in {"GET", "HEAD", "OPTIONS"}:
        return False
    headers = {str(k).lower(): str(v) for k, v in (entry.get("headers") or {}).items()}
    target = headers.get("x-amz-target", "")
    if target:  # JSON protocol: Service.Operation
        return not target.rsplit(".", 1)[-1].startswith(READ_PREFIXES)
    if "x-www-form-urlencoded" in headers.get("content-type", "") and entry.get("body"):
        body = entry["body"]
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        action = parse_qs(str(body)).get("Action", [""])[0]
        return not action.startswith(READ_PREFIXES)
    return True


def compact_recording(path: Path) -> list[dict[str, Any]]:
    """The recorded requests that change state, written back without the reads and without
    a last line cut short by a kill."""
    kept: list[dict[str, Any]] = []
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and _changes_state(entry):
                kept.append(entry)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(json.dumps(entry) + "\n" for entry in kept)
    os.replace(partial, path)
    return kept


def replay(app: Any, entries: list[dict[str, Any]]) -> int:
    """Send the recorded requests to the app in this process (nothing listens yet)."""
    from werkzeug.test import Client

    client = Client(app)
    failed = 0
    for entry in entries:
        url = urlsplit(entry["url"])
        body = entry.get("body") or ""
        data = base64.b64decode(body) if entry.get("body_encoded") else str(body).encode()
        headers = {
            k: v
            for k, v in (entry.get("headers") or {}).items()
            if k.lower() not in {"content-length", "transfer-encoding"}
        }
        try:
            response = client.open(
                url.path,
                base_url=f"http://{headers.get('Host', url.netloc) or 'localhost'}",
                query_string=url.query,
                method=entry["method"],
                headers=headers,
                data=data,
            )
            response.close()
        except Exception:  # noqa: BLE001 - one bad request must not lose the rest
            failed += 1
    return failed


def serve_aws(port: int, state_file: Path) -> None:
    """moto server on loopback, its state rebuilt from `state_file` and kept there."""
    os.environ["MOTO_RECORDER_FILEPATH"] = str(state_file)
    os.environ.pop("MOTO_ENABLE_RECORDING", None)  # on only once the replay is done
    from moto import server
    from moto.moto_api import recorder
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    entries = compact_recording(state_file)
    started = time.monotonic()
    failed = replay(DomainDispatcherApplication(create_backend_app), entries)
    print(
        f"replayed {len(entries)} recorded requests in {time.monotonic() - started:.1f} s"
        f" ({failed} failed) from {state_file.name}",
        flush=True,
    )
    recorder.start_recording()
    server.main(["-H", "127.0.0.1", "-p", str(port)])


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve-aws"] and len(sys.argv) == 4:
        serve_aws(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(
            f"usage: python -m {__spec__.name if __spec__ else 'run_platform'} serve-aws PORT FILE"
        )
