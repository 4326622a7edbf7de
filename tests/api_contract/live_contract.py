"""schemathesis with every check against a live server: each operation answers per its schema.

The real WSGI stack on a port (pytest-django's live server), seeded with a team, a platform
admin whose token holds every scope, the shipped templates and a resource; schemathesis's CLI
runs its coverage and fuzzing phases over every operation with a fixed seed, and any failure
fails the test: there is no baseline of accepted gaps. The one refinement of a check (rules a
schema cannot state, each named with its reason) is in `schemathesis_hooks.py`.

The operations are run in groups, one test file each (test_live_contract*.py), so that
pytest-xdist's workers share them: in one run they took about three minutes of one worker.
Every group but the last names its paths; the last takes every operation the others do not
name, so a new path is always tested (`GROUPS`, `run_group`), and a group that tests no
operation fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# Bounded for a 2-core CI machine: the coverage phase (every boundary and enum value the
# schema states, for each operation) is about three quarters of the run and has no bound;
# the fuzzing phase takes MAX_EXAMPLES per writing operation and fewer per read, whose
# query parameters the coverage phase walks already.
MAX_EXAMPLES = 8
MAX_EXAMPLES_OF_READS = 4
SEED = 20241


# The operations of each group but the last, by the first segment of their path under
# /api/v1/; sized so that each group takes about a third of the whole run.
GROUPS: dict[str, tuple[str, ...]] = {
    "resources": ("resources", "runs", "templates", "template-sources", "tokens", "auth"),
    "teams": (
        "teams",
        "budgets",
        "alert-channels",
        "alarm-events",
        "alerts",
        "metrics",
        "audit",
        "costs",
    ),
}
OTHERS = "others"


def _paths(segments: tuple[str, ...]) -> str:
    return "^/api/v1/(" + "|".join(segments) + ")/"


def group_filter(group: str) -> list[str]:
    """schemathesis's options selecting the operations of a group: its paths, or for
    OTHERS every path that no other group names."""
    if group == OTHERS:
        named = tuple(segment for segments in GROUPS.values() for segment in segments)
        return ["--exclude-path-regex", _paths(named)]
    return ["--include-path-regex", _paths(GROUPS[group])]


def run_group(group: str, live_server: Any, seeded: str, tmp_path: Path) -> None:
    """schemathesis over the operations of one group; fails with its report on any failure."""
    config = tmp_path / "schemathesis.toml"
    # One unexpected method per operation (DELETE answers 405 with Allow wherever it is not
    # documented); all of them doubled the run time for the same check.
    config.write_text(
        '[phases.coverage]\nunexpected-methods = ["delete"]\n\n'
        '[[operations]]\ninclude-method = "GET"\n'
        f"[operations.phases.fuzzing.generation]\nmax-examples = {MAX_EXAMPLES_OF_READS}\n"
    )
    command = [
        str(Path(sys.executable).parent / "st"),
        "--config-file",
        str(config),
        "run",
        f"{live_server.url}/api/schema/?format=json",
        "--url",
        live_server.url,
        "--header",
        f"Authorization: Bearer {seeded}",
        *group_filter(group),
        "--checks",
        "all",
        # Replaced by the refinement in schemathesis_hooks (unknown references are a 400).
        "--exclude-checks",
        "positive_data_acceptance",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        # One request at a time: the groups run side by side on pytest-xdist's workers instead.
        # (With two threads here, Hypothesis describing its strategies in both at once could
        # end the run with "SystemError: AST constructor recursion depth mismatch", a Python
        # 3.11 fault, not an answer of the API.)
        "--workers",
        "1",
        # NUL bytes are refused by design (PostgreSQL cannot store them): a 400, by rule.
        "--generation-allow-x00",
        "false",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.api_contract.schemathesis_hooks",
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run(  # noqa: S603 - our own venv's schemathesis
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]
    # A group whose paths all went (renamed) would pass with nothing tested.
    selected = re.search(r"Selected: (\d+)/\d+\s+Tested: (\d+)", done.stdout)
    assert selected, done.stdout[-3000:]
    assert int(selected[1]) > 0 and selected[2] == selected[1], selected[0]
