"""Entity references, `kind:namespace/name`, with Backstage's shorthand resolution."""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.choices import EntityKind, RelationType

DEFAULT_NAMESPACE = "default"
# Lower-cased kind (as written in refs) -> the kind as stored.
KINDS = {kind.value.lower(): kind.value for kind in EntityKind}
_REF = re.compile(r"^(?:(?P<kind>[^:/\s]+):)?(?:(?P<namespace>[^:/\s]+)/)?(?P<name>[^:/\s]+)$")


class RefError(ValueError):
    """A string that is no entity reference."""


@dataclass(frozen=True)
class Ref:
    kind: str  # lower-cased
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}"

    @property
    def stored_kind(self) -> str | None:
        """The kind as Entity.kind stores it, None for a kind the catalog does not hold."""
        return KINDS.get(self.kind)


def parse_ref(value: str, *, default_kind: str | None = None) -> Ref:
    """`payments` with default kind group → group:default/payments; raises RefError."""
    match = _REF.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise RefError(f"{value!r} is not an entity reference (kind:namespace/name)")
    kind = match["kind"] or default_kind
    if not kind:
        raise RefError(f"{value!r} needs a kind (e.g. component:{value})")
    return Ref(kind.lower(), match["namespace"] or DEFAULT_NAMESPACE, match["name"])


def entity_ref(kind: str, namespace: str, name: str) -> str:
    return f"{kind.lower()}:{namespace}/{name}"


# Which spec fields make which relation, and the kind a shorthand reference defaults to.
# (field, relation, default kind, many)
SPEC_RELATIONS: dict[str, list[tuple[str, str, str, bool]]] = {
    EntityKind.COMPONENT: [
        ("system", RelationType.PART_OF, "system", False),
        ("subcomponentOf", RelationType.PART_OF, "component", False),
        ("providesApis", RelationType.PROVIDES_API, "api", True),
        ("consumesApis", RelationType.CONSUMES_API, "api", True),
        ("dependsOn", RelationType.DEPENDS_ON, "component", True),
        ("dependencyOf", RelationType.DEPENDENCY_OF, "component", True),
    ],
    EntityKind.API: [("system", RelationType.PART_OF, "system", False)],
    EntityKind.SYSTEM: [("domain", RelationType.PART_OF, "domain", False)],
    EntityKind.DOMAIN: [("subdomainOf", RelationType.PART_OF, "domain", False)],
    EntityKind.RESOURCE: [
        ("system", RelationType.PART_OF, "system", False),
        ("dependsOn", RelationType.DEPENDS_ON, "resource", True),
        ("dependencyOf", RelationType.DEPENDENCY_OF, "component", True),
    ],
    EntityKind.GROUP: [
        ("parent", RelationType.CHILD_OF, "group", False),
        ("children", RelationType.PARENT_OF, "group", True),
        ("members", RelationType.HAS_MEMBER, "user", True),
    ],
    EntityKind.USER: [("memberOf", RelationType.MEMBER_OF, "group", True)],
}
OWNER_KINDS = {
    EntityKind.COMPONENT,
    EntityKind.API,
    EntityKind.SYSTEM,
    EntityKind.DOMAIN,
    EntityKind.RESOURCE,
}


def spec_refs(kind: str, spec: dict) -> list[tuple[str, str, str]]:
    """(spec field path, relation type, target ref) declared by an entity's spec, owner
    included; raises RefError naming the field of a malformed reference."""
    out: list[tuple[str, str, str]] = []
    if kind in OWNER_KINDS and spec.get("owner"):
        out.append(
            ("spec.owner", RelationType.OWNED_BY, _ref(spec["owner"], "group", "spec.owner"))
        )
    for field, relation, default_kind, many in SPEC_RELATIONS.get(kind, []):
        value = spec.get(field)
        if not value:
            continue
        values = value if many and isinstance(value, list) else [value]
        for index, item in enumerate(values):
            path = f"spec.{field}[{index}]" if many else f"spec.{field}"
            out.append((path, relation, _ref(item, default_kind, path)))
    return out


def _ref(value: str, default_kind: str, path: str) -> str:
    try:
        return str(parse_ref(value, default_kind=default_kind))
    except RefError as exc:
        raise RefError(f"{path}: {exc}") from None


def declared(kind: str, spec: dict) -> set[tuple[str, str]]:
    """(relation type, target ref) an entity's spec declares; malformed refs are skipped
    (they never pass validation)."""
    try:
        return {(relation, ref) for _, relation, ref in spec_refs(kind, spec)}
    except RefError:
        return set()
