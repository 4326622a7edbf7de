"""The shipped policies against the shipped modules, before merge (`make lint`).

A module's HCL (parsed by python-hcl2) becomes a plan-shaped document: one `create` per
resource block, literal attribute values as `after`, and everything computed — variables,
locals, references — marked known only after apply, the way `terraform show -json` marks
values a plan cannot know. Policies skip unknown values, so what this catches is what a
module hard-codes (an unencrypted database, a port open to the world); what users choose is
judged on their real plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import yaml

from .choices import BLOCKING, Level, PolicyKind
from .engine import evaluate
from .loader import ParsedPolicy

UNKNOWN = object()
DEFAULT_ENVIRONMENTS = ("sandbox", "dev", "staging", "prod")


@dataclass(frozen=True)
class StaticFinding:
    module: str
    environment: str
    policy: str
    enforcement: str
    level: str
    message: str

    @property
    def blocking(self) -> bool:
        return self.level == Level.FAILURE and self.enforcement in BLOCKING


def _literal(value: Any) -> Any:
    """The value as Terraform would plan it, or UNKNOWN when it is computed."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"' and "${" not in value:
            return value[1:-1]
        return UNKNOWN
    if isinstance(value, list):
        items = [_literal(v) for v in value]
        return UNKNOWN if any(i is UNKNOWN for i in items) else items
    if isinstance(value, dict):
        # A block's computed attributes are left out: policies read them as absent.
        known = {_key(k): _literal(v) for k, v in value.items() if not k.startswith("__")}
        return {k: v for k, v in known.items() if v is not UNKNOWN}
    return value


def _key(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


def _split(attributes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(after, after_unknown) of one resource block."""
    after: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    for name, raw in attributes.items():
        if name.startswith("__") or name in ("count", "for_each", "depends_on", "lifecycle"):
            continue
        value = _literal(raw)
        if value is UNKNOWN:
            unknown[name] = True
        elif isinstance(value, dict):
            inner_after = {k: v for k, v in value.items() if v is not UNKNOWN}
            inner_unknown = {k: True for k, v in value.items() if v is UNKNOWN}
            after[name] = inner_after
            if inner_unknown:
                unknown[name] = inner_unknown
        else:
            after[name] = value
    return after, unknown


def module_document(folder: Path) -> dict[str, Any]:
    """A plan-shaped document of a module folder's resources (see the module docstring)."""
    changes = []
    for path in sorted(folder.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get("resource", []):
            for type_key, named in block.items():
                for name_key, attributes in named.items():
                    type_, name = _key(type_key), _key(name_key)
                    after, unknown = _split(attributes)
                    changes.append(
                        {
                            "address": f"{type_}.{name}",
                            "mode": "managed",
                            "type": type_,
                            "name": name,
                            "change": {
                                "actions": ["create"],
                                "before": None,
                                "after": after,
                                "after_unknown": unknown,
                            },
                        }
                    )
    return {"format_version": "1.2", "resource_changes": changes, "static": True}


def _environments(folder: Path) -> list[str]:
    meta_path = folder / "template.yaml"
    meta = yaml.safe_load(meta_path.read_text()) if meta_path.exists() else {}
    meta = meta if isinstance(meta, dict) else {}
    listed = meta.get("environments") or list((meta.get("approval_policy") or {}).keys())
    return [str(e) for e in listed] or list(DEFAULT_ENVIRONMENTS)


def check_modules(modules_dir: Path, policies: list[ParsedPolicy]) -> list[StaticFinding]:
    """Every finding of every policy on every module folder, per environment it may go to."""
    findings = []
    for folder in sorted(p for p in modules_dir.iterdir() if (p / "main.tf").exists()):
        slug = folder.name
        document = module_document(folder)
        for environment in _environments(folder):
            document["idp"] = {
                "environment": environment,
                "production": environment == "prod",
                "template": slug,
                "team": "",
                "destroy": False,
                "estimated_monthly_cost": None,
                "static": True,
            }
            for policy in policies:
                if policy.kind != PolicyKind.POLICY:
                    continue  # approval rules judge plans, never a module's HCL
                scope = policy.scope
                if scope["environments"] and environment not in scope["environments"]:
                    continue
                if scope["templates"] and slug not in scope["templates"]:
                    continue
                for finding in evaluate(
                    slug=policy.slug,
                    version=None,
                    package=policy.package,
                    source=policy.source,
                    document=document,
                ):
                    if finding.level == Level.PASSED:
                        continue
                    findings.append(
                        StaticFinding(
                            slug,
                            environment,
                            policy.slug,
                            policy.enforcement,
                            finding.level,
                            finding.message,
                        )
                    )
    return findings
