"""Which Terraform providers a template version needs, and whether the workers can install
them without the network.

A worker starting (catalog/signals.py) and a finished template source sync (catalog/tasks.py)
record on every version the providers it needs that the worker cannot install, and when that
was checked; the catalog, the request form and the API show it. The check reads files only.

A provider counts as available when it is built in (`terraform_data`), when a filesystem
mirror holds it for this platform (one named in the Terraform CLI configuration's
`provider_installation` block, or, without that block, Terraform's implied local mirror
folders), when a network mirror serves it (trusted, not asked), or when the workers may reach
the registries (IDP_PROVIDER_REGISTRY_REACHABLE) and `direct` installation allows it.
Terraform's plugin cache (TF_PLUGIN_CACHE_DIR) does not count: without a lock file Terraform
asks the registry which versions exist even when the cache holds one. Point a
`filesystem_mirror` at the cache folder (the same layout) to install from it offline.
"""

from __future__ import annotations

import fnmatch
import logging
import platform
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import hcl2
from django.db import transaction
from django.utils import timezone
from hcl2.utils import SerializationOptions

from idp.conf import env, setting

from ..models import TemplateVersion

logger = logging.getLogger(__name__)

DEFAULT_HOST = "registry.terraform.io"
BUILTIN = "terraform.io/builtin/terraform"
_HCL_OPTIONS = SerializationOptions(
    with_comments=False, strip_string_quotes=True, preserve_heredocs=False
)
# A source address as a module writes it: [host/]namespace/type.
_ADDRESS = re.compile(r"^(?:([\w.-]+(?::\d+)?)/)?([\w-]+)/([\w-]+)$")


def normalize(source: str) -> str:
    """`hashicorp/aws` and `registry.terraform.io/hashicorp/aws` → `hashicorp/aws`; another
    host stays in the address (`registry.invalid/acme/widget`)."""
    text = source.strip().strip('"').lower()
    match = _ADDRESS.match(text)
    if not match:
        return text
    host, namespace, kind = match.groups()
    host = host or DEFAULT_HOST
    return f"{namespace}/{kind}" if host == DEFAULT_HOST else f"{host}/{namespace}/{kind}"


def _full(address: str) -> str:
    return address if address.count("/") == 2 else f"{DEFAULT_HOST}/{address}"


def _parse(text: str) -> dict[str, Any] | None:
    try:
        return hcl2.loads(text, serialization_options=_HCL_OPTIONS)
    except Exception:  # lark raises several error types; an unparsable file declares nothing
        return None


def _names(blocks: Any) -> Iterable[tuple[str, Any]]:
    for block in blocks or []:
        if isinstance(block, dict):
            for name, body in block.items():
                if name != "__is_block__":
                    yield name.strip('"'), body


def required_providers(files: dict[str, str]) -> list[str]:
    """The providers a module's .tf files need (each folder a module): those named in
    `required_providers`, and those implied by a resource, data source or provider block
    without one (`aws_s3_bucket` → `hashicorp/aws`); built-in ones are left out."""
    local: dict[str, dict[str, str]] = {}
    used: dict[str, set[str]] = {}
    for name, text in files.items():
        if not name.endswith(".tf"):
            continue
        parsed = _parse(text)
        if parsed is None:
            continue
        folder = str(PurePosixPath(name).parent)
        names = local.setdefault(folder, {})
        for block in parsed.get("terraform", []) or []:
            for requirements in block.get("required_providers", []) or []:
                for local_name, spec in _names([requirements]):
                    source = spec.get("source") if isinstance(spec, dict) else None
                    names[local_name] = normalize(str(source or f"hashicorp/{local_name}"))
        wanted = used.setdefault(folder, set())
        for kind in ("resource", "data"):
            for resource_type, _ in _names(parsed.get(kind)):
                wanted.add(resource_type.split("_", 1)[0])
        for provider_name, _ in _names(parsed.get("provider")):
            wanted.add(provider_name)
    needed: set[str] = set()
    for folder, names in local.items():
        needed.update(names.values())
        for local_name in used.get(folder, set()) - set(names):
            needed.add(BUILTIN if local_name == "terraform" else f"hashicorp/{local_name}")
    needed.discard(BUILTIN)
    return sorted(needed)


# --- what the workers can install -------------------------------------------------------------


def _platform() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "i386": "386", "i686": "386"}.get(
        machine, machine
    )
    return f"{platform.system().lower()}_{arch}"


def _in_mirror(root: Path, address: str, target: str) -> bool:
    """A filesystem mirror holds the provider for this platform: unpacked
    (HOST/NS/TYPE/VERSION/OS_ARCH/) or packed (HOST/NS/TYPE/terraform-provider-TYPE_*_OS_ARCH.zip).
    """
    folder = root.joinpath(*_full(address).split("/"))
    if not folder.is_dir():
        return False
    kind = address.rsplit("/", 1)[-1]
    for entry in folder.iterdir():
        if entry.is_dir() and (entry / target).is_dir():
            return True
        if entry.name.startswith(f"terraform-provider-{kind}_") and entry.name.endswith(
            f"_{target}.zip"
        ):
            return True
    return False


def _matches(address: str, patterns: list[str]) -> bool:
    full = _full(address)
    return any(fnmatch.fnmatchcase(full, _full(normalize(p))) for p in patterns)


@dataclass
class Method:
    kind: str  # filesystem_mirror | network_mirror | direct
    path: Path | None = None
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)

    def covers(self, address: str) -> bool:
        if self.include and not _matches(address, self.include):
            return False
        return not _matches(address, self.exclude)


def _cli_config() -> Path | None:
    named = env("TF_CLI_CONFIG_FILE")
    if named:
        return Path(named) if Path(named).is_file() else None
    home = env("HOME")
    default = Path(home) / ".terraformrc" if home else None
    return default if default and default.is_file() else None


def _implied_mirrors() -> list[Method]:
    """Terraform's implied local mirror folders (used when no provider_installation block)."""
    home = env("HOME")
    data_home = env("XDG_DATA_HOME") or (f"{home}/.local/share" if home else "")
    data_dirs = (env("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")
    roots = [f"{home}/.terraform.d/plugins"] if home else []
    roots += [f"{d}/terraform/plugins" for d in (data_home, *data_dirs) if d]
    return [Method("filesystem_mirror", Path(root)) for root in roots]


def installation_methods() -> list[Method]:
    """How Terraform on this worker installs providers, read from its CLI configuration."""
    path = _cli_config()
    parsed = _parse(path.read_text(encoding="utf-8", errors="replace")) if path else None
    blocks = (parsed or {}).get("provider_installation") or []
    if not blocks:
        return [*_implied_mirrors(), Method("direct")]
    methods = []
    for block in blocks:
        for kind in ("filesystem_mirror", "network_mirror", "direct"):
            for body in block.get(kind, []) or []:
                body = body if isinstance(body, dict) else {}
                methods.append(
                    Method(
                        kind,
                        Path(str(body["path"])) if body.get("path") else None,
                        [str(p) for p in body.get("include") or []],
                        [str(p) for p in body.get("exclude") or []],
                    )
                )
    return methods


def missing(needed: list[str], methods: list[Method] | None = None) -> list[str]:
    """The providers of `needed` no installation method of this worker can supply offline."""
    methods = installation_methods() if methods is None else methods
    online = bool(setting("IDP_PROVIDER_REGISTRY_REACHABLE"))
    target = _platform()
    out = []
    for address in needed:
        found = False
        for method in methods:
            if not method.covers(address):
                continue
            if method.kind == "filesystem_mirror":
                found = method.path is not None and _in_mirror(method.path, address, target)
            else:
                found = method.kind == "network_mirror" or online
            if found:
                break
        if not found:
            out.append(address)
    return out


def check_versions(queryset: Any = None) -> int:
    """Record on every template version (or those of `queryset`) the providers it needs, those
    this worker cannot install, and when; returns how many versions were checked."""
    methods = installation_methods()
    now = timezone.now()
    base = queryset if queryset is not None else TemplateVersion.objects.all()
    # A version's files never change: what it needs is read once, what is missing every time.
    versions = list(
        base.filter(providers_checked_at__isnull=False).only("pk", "required_providers")
    )
    for version in base.filter(providers_checked_at__isnull=True).only("pk", "files").iterator():
        version.required_providers = required_providers(version.files or {})
        versions.append(version)
    for version in versions:
        version.missing_providers = missing(version.required_providers, methods)
        version.providers_checked_at = now
    with transaction.atomic():
        TemplateVersion.objects.bulk_update(
            versions,
            ["required_providers", "missing_providers", "providers_checked_at"],
            batch_size=200,
        )
    unavailable = sorted({a for v in versions for a in v.missing_providers})
    if unavailable:
        logger.warning(
            "providers not available to the workers: %s (configure a provider mirror)",
            ", ".join(unavailable),
        )
    return len(versions)
