"""Policies as code: `.rego` files read from `policies/rego/` and `IDP_POLICY_DIRS`.

A policy describes itself in an OPA `# METADATA` block above its package (YAML in comments,
the format OPA and conftest already read and ignore where they don't use it):

    # METADATA
    # title: S3 buckets are encrypted and not public
    # custom:
    #   enforcement: mandatory          # advisory | mandatory | mandatory-overridable
    #   environments: [prod]            # empty or absent = every environment
    #   templates: [s3-bucket]
    #   teams: []
    package idp.s3_buckets

An approval rule is the same kind of file whose package sits under `<namespace>.approval`
(`package idp.approval.stateful_changes`): it answers `require` and `auto_approve` instead
of `deny` and `warn` (`policies.approval_rules`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from idp.conf import setting

from .choices import Enforcement, PolicyKind
from .engine import PolicyError, compile_module

SHIPPED_DIR = Path(__file__).resolve().parent / "rego"
SCOPES = ("environments", "templates", "teams")
_PACKAGE = re.compile(r"^package\s+([A-Za-z_][\w.]*)\s*$", re.MULTILINE)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


@dataclass
class ParsedPolicy:
    slug: str
    package: str
    title: str
    description: str
    enforcement: str
    scope: dict[str, list[str]]
    source: str
    content_hash: str
    path: str
    origin: str
    changelog: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    kind: str = PolicyKind.POLICY


def kind_of(package: str) -> str:
    """An approval rule's package sits under `<namespace>.approval`; any other is a policy."""
    prefix = setting("IDP_POLICY_NAMESPACE") + ".approval"
    return (
        PolicyKind.APPROVAL
        if package == prefix or package.startswith(prefix + ".")
        else PolicyKind.POLICY
    )


def kind_of_source(source: str) -> str:
    """`kind_of` the file's package line (a file that does not load still has a kind)."""
    match = _PACKAGE.search(source)
    return kind_of(match.group(1)) if match else PolicyKind.POLICY


def policy_dirs() -> list[tuple[str, Path]]:
    """(origin label, folder): the shipped policies first, then IDP_POLICY_DIRS in order."""
    extra = [("extra", Path(p)) for p in setting("IDP_POLICY_DIRS")]
    return [("shipped", SHIPPED_DIR), *extra]


def policy_files(folder: Path) -> list[Path]:
    """The policies of a folder: `*.rego` files, not tests (`*_test.rego`), sorted."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*.rego")
        if not p.name.endswith("_test.rego") and not any(part.startswith(".") for part in p.parts)
    )


def _metadata(source: str, name: str) -> dict[str, Any]:
    """The YAML of the first `# METADATA` block, or {}."""
    lines = source.splitlines()
    for index, line in enumerate(lines):
        if line.strip() == "# METADATA":
            block = []
            for follow in lines[index + 1 :]:
                if not follow.lstrip().startswith("#"):
                    break
                block.append(follow.lstrip()[1:].removeprefix(" "))
            try:
                data = yaml.safe_load("\n".join(block)) or {}
            except yaml.YAMLError as error:
                mark = getattr(error, "problem_mark", None)
                where = f":{index + 2 + mark.line}" if mark is not None else ""
                raise PolicyError(f"{name}{where}: METADATA is not valid YAML") from None
            if not isinstance(data, dict):
                raise PolicyError(f"{name}:{index + 1}: METADATA must be a mapping")
            return data
    return {}


def _scope(custom: dict[str, Any], name: str) -> dict[str, list[str]]:
    scope = {}
    for key in SCOPES:
        value = custom.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PolicyError(f"{name}: METADATA custom.{key} must be a list of slugs")
        scope[key] = sorted(value)
    return scope


def parse_policy(path: Path, *, origin: str = "shipped", root: Path | None = None) -> ParsedPolicy:
    """Read and check one policy file; PolicyError names the file and line of a problem."""
    name = path.name
    slug = path.stem
    if not _SLUG.match(slug):
        raise PolicyError(f"{name}: a policy file is named with lowercase letters, digits, - or _")
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"{name}: cannot be read ({error})") from None
    label = str(path.relative_to(root)) if root is not None else name
    return parse_source(slug, name, source, origin=origin, path=label)


def parse_source(
    slug: str, name: str, source: str, *, origin: str = "draft", path: str = ""
) -> ParsedPolicy:
    """Check one policy's text (a file's, or a draft's pasted in); PolicyError names the
    file and line of a problem."""
    match = _PACKAGE.search(source)
    if match is None:
        raise PolicyError(f"{name}:1: no `package` line")
    package = match.group(1)
    namespace = setting("IDP_POLICY_NAMESPACE")
    if package != namespace and not package.startswith(namespace + "."):
        line = source.count("\n", 0, match.start()) + 1
        raise PolicyError(f"{name}:{line}: package {package} is outside the namespace {namespace}")
    meta = _metadata(source, name)
    custom = meta.get("custom") or {}
    if not isinstance(custom, dict):
        raise PolicyError(f"{name}: METADATA custom must be a mapping")
    enforcement = str(custom.get("enforcement", Enforcement.ADVISORY))
    if enforcement not in Enforcement.values:
        raise PolicyError(
            f"{name}: enforcement {enforcement!r} is not one of {', '.join(Enforcement.values)}"
        )
    compile_module(name, source)  # raises with file:line when it does not parse
    return ParsedPolicy(
        slug=slug,
        package=package,
        title=str(meta.get("title") or slug.replace("_", " ").replace("-", " ").capitalize()),
        description=str(meta.get("description") or "").strip(),
        enforcement=enforcement,
        scope=_scope(custom, name),
        source=source,
        content_hash=hashlib.sha256(source.encode()).hexdigest(),
        path=path or name,
        origin=origin,
        changelog=str(custom.get("changelog") or "").strip(),
        kind=kind_of(package),
    )
