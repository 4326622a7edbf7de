"""The layers hold, counted from the code as a new maintainer would count them: every import
statement (function-level ones included), tests, migrations and benchmarks left out, and the
project's wiring (`config`: settings, urls, Celery app, demo, `run_platform`) left out because
it may import everything. The same layers are declared as import-linter contracts in `.importlinter`
(run by `make lint`); these tests count what the contracts cannot say (no two-way pair, no
cycle) and prove that a contract fails when it is broken."""

from __future__ import annotations

import ast
import configparser
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"


def _linter_config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    return parser


def _names(value: str) -> list[str]:
    """The module names of a multi-line option, comments left out."""
    lines = (line.split("#")[0].strip() for line in value.splitlines())
    return [line for line in lines if line]


ROOT_PACKAGES = _names(_linter_config()["importlinter"]["root_packages"])
# The wiring is the top layer of the `apps` contract: it may import every app, no app imports it.
WIRING = [
    name.strip()
    for name in _names(_linter_config()["importlinter:contract:apps"]["layers"])[0].split("|")
]
# The platform's apps, the wiring left out; a module belongs to the longest name it starts
# with, so the software catalog (`catalog.software`, an app of its own) is counted apart from
# the template registry.
APPS = (*(name for name in ROOT_PACKAGES if name not in WIRING), "catalog.software")


def _app_of(module: str) -> str | None:
    owners = [app for app in APPS if module == app or module.startswith(app + ".")]
    return max(owners, key=len) if owners else None


def _modules() -> Iterator[tuple[str, Path]]:
    for top in {app.split(".")[0] for app in APPS}:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield name.removesuffix(".__init__"), path


def _imported(path: Path, module: str) -> Iterator[str]:
    """Every module name an import statement anywhere in the file names."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def app_graph() -> dict[tuple[str, str], set[str]]:
    """(importing app, imported app) → the importing modules."""
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for module, path in _modules():
        source = _app_of(module)
        for name in _imported(path, module):
            target = _app_of(name)
            if source and target and target != source:
                edges[(source, target)].add(module)
    return edges


def test_the_wiring_is_the_top_layer() -> None:
    assert WIRING == ["config"]
    assert {"idp", "catalog", "provisioning", "fleet"} <= set(APPS)
    # Every top-level package of ours is in the contracts (an app left out escapes them).
    ours = {path.parent.name for path in ROOT.glob("*/apps.py")}
    assert ours == set(ROOT_PACKAGES)


def test_no_two_way_pair_between_apps() -> None:
    edges = app_graph()
    pairs = sorted(
        f"{a} ⇄ {b}: {sorted(edges[(a, b)])} / {sorted(edges[(b, a)])}"
        for (a, b) in edges
        if (b, a) in edges and a < b
    )
    assert pairs == []


def test_no_cycle_between_apps() -> None:
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for source, target in app_graph():
        sorter.add(source, target)
    try:
        order = list(sorter.static_order())
    except CycleError as cycle:  # pragma: no cover - the failure message is the point
        pytest.fail(f"a cycle between apps: {cycle.args[1]}")
    assert order.index("idp") < order.index("provisioning") < order.index("catalog.software")
    assert order.index("catalog") < order.index("provisioning")


def test_the_engine_never_imports_the_action_layer() -> None:
    offenders = [
        f"{module} → {name}"
        for module, path in _modules()
        if module.startswith("provisioning.engine")
        for name in _imported(path, module)
        if name.startswith(("provisioning.actions", "provisioning.tasks"))
    ]
    assert offenders == []


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # Wide enough that no contract's line is wrapped (its verdict ends the line).
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run(  # noqa: S603 - our own linter on our own tree
        [str(Path(sys.executable).parent / "lint-imports"), "--config", str(CONFIG), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_the_contracts_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("probe", "source", "broken"),
    [
        # The engine reaching up to the action layer, inside a function as it once did.
        (
            "provisioning/engine/probe.py",
            "def finish():\n    from provisioning.actions import approvals\n    return approvals\n",
            "Provisioning:",
        ),
        # The template registry reaching up to provisioning.
        ("catalog/services/probe.py", "import provisioning.models\n", "Apps are layered"),
        # The kernel reaching up to an app.
        ("idp/probe.py", "from monitoring import models\n", "Apps are layered"),
        # An app below the software catalog reaching up to it.
        (
            "pipelines/probe.py",
            "from catalog.software.services import scorecards\n",
            "No app below imports the software catalog",
        ),
        # The registry's surfaces reaching up to the software catalog.
        ("catalog/api/probe.py", "import catalog.software.views.entities\n", "Catalog:"),
        # An app reaching up to the wiring, for the Celery app or the settings' module.
        (
            "idp/ops/probe.py",
            "def app():\n    from config.celery import app\n    return app\n",
            "Apps are layered",
        ),
        ("provisioning/probe.py", "from config.settings import base\n", "Apps are layered"),
        # The software catalog, which may reach above the registry, reaching up to the wiring.
        ("catalog/software/probe.py", "import config.urls\n", "Apps are layered"),
    ],
)
def test_a_deliberate_violation_breaks_a_contract(
    tmp_path: Path, probe: str, source: str, broken: str
) -> None:
    """A copy of the code with one module that breaks a layer: the contracts must say so."""
    for top in ROOT_PACKAGES:
        shutil.copytree(
            ROOT / top,
            tmp_path / top,
            ignore=shutil.ignore_patterns("__pycache__", "*.html", "*.json", "*.yaml", "*.tf"),
        )
    (tmp_path / probe).write_text(source)
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    out = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    probe_module = probe.removesuffix(".py").replace("/", ".")
    assert probe_module in out
    verdicts = {
        line.rsplit(" ", 1)[0].strip(): line.rsplit(" ", 1)[1]
        for line in out.splitlines()
        if line.rstrip().endswith((" KEPT", " BROKEN"))
    }
    assert [name for name, verdict in verdicts.items() if verdict == "BROKEN"] == [
        name for name in verdicts if name.startswith(broken)
    ]
