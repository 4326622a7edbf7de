"""Every setting is read through `idp/conf.py`: no other module of the platform touches the
process environment, except where it builds the environment of a process it starts (and
the few bootstrap steps named below, each with its reason)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Tests and benchmarks drive the platform from outside (they set up its environment);
# migrations are history. Everything else that ships is scanned.
NOT_SCANNED = {"tests", "benchmarks", "migrations", ".venv", "node_modules"}

# The reader itself.
READER = "idp/conf.py"

# (module, function or <module>) → why it may touch the environment.
ALLOWED: dict[tuple[str, str], str] = {
    # --- building the environment of a child process --------------------------------------
    ("catalog/services/gitrepo.py", "clean_env"): (
        "builds the environment of git and MkDocs: only PATH is passed on"
    ),
    ("provisioning/engine/terraform.py", "base_env"): (
        "builds Terraform's environment from its pass-through list (no platform secrets)"
    ),
    ("config/management/commands/run_platform.py", "handle"): (
        "builds the environment of the portal, worker, beat and local AWS API `make run` starts"
    ),
    ("config/management/commands/run_platform.py", "serve_aws"): (
        "configures the local AWS API in its own child process (moto reads its recorder "
        "settings from the environment)"
    ),
    # --- filling the environment before the settings read it ------------------------------
    ("idp/ssm_config.py", "apply"): (
        "fills unset variables from Parameter Store before the settings package reads them"
    ),
    ("idp/runenv.py", "var_dir"): (
        "finds the run-env.json of a running `make run` before Django's settings exist"
    ),
    ("idp/runenv.py", "load"): (
        "fills unset variables from a running `make run` before the settings package reads them"
    ),
    # --- choosing the settings module (nothing is configured yet) -------------------------
    ("manage.py", "main"): "names the default settings module (DJANGO_SETTINGS_MODULE)",
    ("config/celery.py", "<module>"): "names the default settings module (DJANGO_SETTINGS_MODULE)",
    ("config/wsgi.py", "<module>"): "names the default settings module (DJANGO_SETTINGS_MODULE)",
    # --- the developer CLI: a separate program on the user's machine, no platform settings -
    ("idp/cli/config.py", "config_path"): "the CLI's own configuration folder (XDG_CONFIG_HOME)",
    ("idp/cli/config.py", "load"): "the CLI's own address and token (IDP_URL, IDP_TOKEN)",
    ("idp/cli/common.py", "poll_interval"): "the CLI's own polling interval (IDP_POLL_INTERVAL)",
}


def _environment_uses(path: Path) -> list[tuple[str, int, str]]:
    """(enclosing function or <module>, line, code) of every use of `os.environ`,
    `os.environb`, `os.getenv`, `os.putenv`/`os.unsetenv` and of names imported from them."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = {"environ", "environb", "getenv", "putenv", "unsetenv"}
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "os"
        for alias in node.names
        if alias.name in names
    }
    found: list[tuple[str, int, str]] = []

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = (
                child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else where
            )
            hit = (
                isinstance(child, ast.Attribute)
                and child.attr in names
                and isinstance(child.value, ast.Name)
                and child.value.id == "os"
            ) or (isinstance(child, ast.Name) and child.id in imported)
            if hit:
                found.append((where, child.lineno, ast.unparse(child)))
            else:
                visit(child, inner)

    visit(tree, "<module>")
    return found


def _shipped_modules() -> list[Path]:
    return [
        path
        for path in sorted(ROOT.rglob("*.py"))
        if not NOT_SCANNED & set(path.relative_to(ROOT).parts)
        and not path.relative_to(ROOT).parts[0].startswith(".")
    ]


def test_only_idp_conf_reads_the_environment() -> None:
    offenders, used = [], set()
    for path in _shipped_modules():
        rel = str(path.relative_to(ROOT))
        if rel == READER:
            continue
        for where, line, code in _environment_uses(path):
            if (rel, where) in ALLOWED:
                used.add((rel, where))
            else:
                offenders.append(f"{rel}:{line} in {where}: {code}")
    assert offenders == [], "read settings through idp/conf.py:\n" + "\n".join(offenders)
    # An allowance nothing needs any more goes, so the list stays the list of reasons.
    stale = [key for key in ALLOWED if key not in used and (ROOT / key[0]).exists()]
    assert stale == [], stale


def test_every_allowance_says_why() -> None:
    assert all(len(reason.split()) >= 4 for reason in ALLOWED.values())


def test_the_scan_finds_every_way_to_the_environment(tmp_path: Path) -> None:
    module = tmp_path / "settings_on_the_side.py"
    module.write_text(
        "import os\n"
        "from os import environ as env, getenv\n"
        "\n"
        "REGION = os.environ.get('AWS_REGION')\n"
        "def token():\n"
        "    return os.getenv('GITHUB_TOKEN') or env['GITHUB_TOKEN']\n"
        "def child():\n"
        "    return {**os.environ}\n"
        "def late():\n"
        "    return getenv('X'), os.environb, os.putenv('A', 'b')\n"
    )
    found = [(where, line) for where, line, _ in _environment_uses(module)]
    assert found == [
        ("<module>", 4),
        ("token", 6),
        ("token", 6),
        ("child", 8),
        ("late", 10),
        ("late", 10),
        ("late", 10),
    ]
