"""Find every write of a Resource or Run status in a module, whatever its form.

Nothing but `provisioning/lifecycle.py` writes those statuses. The scan reads each module's
syntax and follows what a name holds inside its function (a queryset kept in a variable, a
loop variable, an annotated parameter, `self` in a model's method) and the relations of the
models (Django's registry says which attribute leads to a Resource or a Run: `team.resources`,
`resource.runs`, `item.resource`, `approval.run`, …). A write is any of:

- `.update(status=…)`, `.update(**{"status": …})`, `.update(**values)` with `values` holding
  a status, `get_or_create`/`update_or_create(defaults={"status": …})`, `.create(status=…)`,
  `Model(status=…)` and `.save(status=…)` (a serializer);
- `obj.status = …` (plain, annotated or augmented) and `setattr(obj, "status", …)` (or a
  name not known to differ from "status");
- `bulk_update(objs, ["status", …])` (or fields not written out);
- raw SQL that updates or inserts into the Resource or Run table.

Other apps' statuses (fleet items, docs builds, syncs, collections, …) belong to their own
writers: a write whose target is known to be another model does not count. In the
provisioning app, where only Resource and Run have a status, a write whose target is not
known counts too. Creating a row with the lifecycle's first status is the one write
outside it (`lifecycle.first_status()` / `first_run_status()`).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

LIFECYCLE = "lifecycle"
OTHER = "other"
# Calls that hand back the same kind of rows (or one row) as their receiver.
SAME_ROWS = {
    "objects",
    "_base_manager",
    "_default_manager",
    "all",
    "filter",
    "exclude",
    "select_for_update",
    "select_related",
    "prefetch_related",
    "order_by",
    "only",
    "defer",
    "using",
    "annotate",
    "alias",
    "distinct",
    "none",
    "get",
    "first",
    "last",
    "latest",
    "earliest",
    "for_user",
    "iterator",
}
# Nodes that bind a name (or fill a dict of fields).
BINDERS = (
    ast.Assign,
    ast.AnnAssign,
    ast.For,
    ast.AsyncFor,
    ast.comprehension,
    ast.withitem,
    ast.Call,
)
WRITES = {"update", "create", "get_or_create", "update_or_create", "save"}
CREATES = {"create", "get_or_create", "update_or_create"}


@dataclass
class Models:
    """What the Django registry says: models with a status, and relation attributes."""

    lifecycle: set[str]  # Resource, Run
    others: set[str]  # every other model class name
    accessors: dict[str, set[str]]  # attribute -> model names it leads to
    tables: set[str]  # db tables of Resource and Run

    @classmethod
    def load(cls) -> Models:
        from django.apps import apps

        from provisioning.models import Resource, Run

        accessors: dict[str, set[str]] = defaultdict(set)
        others = set()
        for model in apps.get_models():
            if model not in (Resource, Run):
                others.add(model.__name__)
            for relation in model._meta.get_fields():
                target = relation.related_model
                if not relation.is_relation or target is None or isinstance(target, str):
                    continue
                name = (
                    relation.get_accessor_name()  # type: ignore[union-attr]
                    if relation.auto_created and not relation.concrete
                    else relation.name
                )
                if name:
                    accessors[name].add(target.__name__)
        return cls(
            lifecycle={"Resource", "Run"},
            others=others,
            accessors=dict(accessors),
            tables={Resource._meta.db_table, Run._meta.db_table},
        )

    def kind_of_models(self, names: set[str]) -> str | None:
        if names & self.lifecycle:
            return LIFECYCLE
        return OTHER if names else None


@dataclass
class Scope:
    """What the names of one function (or the module) hold."""

    kinds: dict[str, str] = field(default_factory=dict)
    status_dicts: set[str] = field(default_factory=set)
    # Dicts written out here (keys known), and loop variables over a dict's keys.
    literal_dicts: set[str] = field(default_factory=set)
    keys_of: dict[str, str] = field(default_factory=dict)


def _chain(node: ast.expr) -> tuple[ast.expr, list[str]]:
    """The root of `a.b(…).c[…]` and the attribute names from the root outwards."""
    attrs: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return node, attrs[::-1]


def _annotation_kind(annotation: ast.expr | None, models: Models) -> str | None:
    if annotation is None:
        return None
    words = set(re.findall(r"[A-Za-z_]+", ast.unparse(annotation)))
    return models.kind_of_models(words & (models.lifecycle | models.others))


class _Scanner:
    def __init__(self, path: Path, label: str, models: Models, strict: bool):
        self.path, self.label, self.models, self.strict = path, label, models, strict
        self.source = path.read_text()
        self.lines = self.source.splitlines()
        self.found: list[str] = []

    # --- what an expression holds ---------------------------------------------------------

    def kind(self, node: ast.expr, scope: Scope, owner: str | None) -> str | None:
        root, attrs = _chain(node)
        current: str | None = None
        if isinstance(root, ast.Name):
            name = root.id
            if name in scope.kinds:
                current = scope.kinds[name]
            elif name in self.models.lifecycle:
                current = LIFECYCLE
            elif name in self.models.others:
                current = OTHER
            elif name == "self" and owner is not None:
                current = self.models.kind_of_models({owner} & self.models.others) or (
                    LIFECYCLE if owner in self.models.lifecycle else None
                )
            elif name in self.models.accessors:  # a variable named like a relation
                current = self.models.kind_of_models(self.models.accessors[name])
        for attr in attrs:
            if attr in SAME_ROWS:
                continue
            if attr in self.models.accessors:
                current = self.models.kind_of_models(self.models.accessors[attr])
        return current

    def _bind(self, target: ast.expr, kind: str | None, scope: Scope) -> None:
        for node in ast.walk(target):
            # Once a name may hold a Resource or a Run, it counts as one.
            if (
                isinstance(node, ast.Name)
                and kind is not None
                and scope.kinds.get(node.id) != LIFECYCLE
            ):
                scope.kinds[node.id] = kind

    def _scope_of(
        self,
        body: ast.AST,
        own: list[ast.AST],
        models: Models,
        owner: str | None,
        outer: Scope | None,
    ) -> Scope:
        scope = Scope()
        if outer is not None:  # what the enclosing function's names hold
            scope.kinds.update(outer.kinds)
            scope.status_dicts |= outer.status_dicts
        if isinstance(body, ast.FunctionDef | ast.AsyncFunctionDef):
            args = body.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                kind = _annotation_kind(arg.annotation, models)
                if kind is None and arg.arg in models.accessors:
                    kind = models.kind_of_models(models.accessors[arg.arg])
                if kind is not None:
                    scope.kinds[arg.arg] = kind
        binders = [n for n in own if isinstance(n, BINDERS)]
        # Twice, so a name bound from another name bound later in the text is followed.
        for _ in range(2):
            for node in binders:
                if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    kind = self.kind(node.value, scope, owner)
                    if isinstance(node, ast.AnnAssign):
                        kind = _annotation_kind(node.annotation, models) or kind
                    for target in targets:
                        self._bind(target, kind, scope)
                        if isinstance(target, ast.Name) and _dict_has_status(node.value):
                            scope.status_dicts.add(target.id)
                        if isinstance(target, ast.Name) and isinstance(node.value, ast.Dict):
                            scope.literal_dicts.add(target.id)
                        if (
                            isinstance(target, ast.Subscript)
                            and isinstance(target.value, ast.Name)
                            and _is_status(target.slice)
                        ):
                            scope.status_dicts.add(target.value.id)
                elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                    self._bind(node.target, self.kind(node.iter, scope, owner), scope)
                    source, _ = _chain(node.iter)
                    target = node.target
                    first = target.elts[0] if isinstance(target, ast.Tuple) else target
                    if isinstance(source, ast.Name) and isinstance(first, ast.Name):
                        scope.keys_of[first.id] = source.id
                elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                    self._bind(
                        node.optional_vars, self.kind(node.context_expr, scope, owner), scope
                    )
                elif (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("update", "setdefault", "__setitem__")
                    and isinstance(node.func.value, ast.Name)
                    and (
                        any(k.arg == "status" for k in node.keywords)
                        or any(_dict_has_status(a) or _is_status(a) for a in node.args[:1])
                    )
                ):
                    scope.status_dicts.add(node.func.value.id)  # values.update(status=…)
        return scope

    # --- writes ---------------------------------------------------------------------------

    def counts(self, kind: str | None) -> bool:
        return kind == LIFECYCLE or (kind is None and self.strict)

    def report(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{self.label}:{node.lineno} {what}")  # type: ignore[attr-defined]

    def first_status(self, call: ast.Call, value: ast.expr | None) -> bool:
        """A creation whose status is the lifecycle's first one."""
        if value is not None and "lifecycle.first_" in ast.unparse(value):
            return True
        window = "\n".join(self.lines[call.lineno - 16 : call.lineno + 15])
        return "lifecycle.first_" in window

    def check_call(self, call: ast.Call, scope: Scope, owner: str | None) -> None:
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        status_value = _status_argument(call, scope)
        if isinstance(func, ast.Name) and func.id in self.models.lifecycle and status_value:
            if not self.first_status(call, status_value[1]):
                self.report(call, f"{func.id}(status=…)")
            return
        if isinstance(func, ast.Attribute) and name in WRITES and status_value is not None:
            receiver = func.value
            kind = self.kind(receiver, scope, owner)
            if (
                kind is None
                and isinstance(receiver, ast.Name)
                and receiver.id in (scope.literal_dicts | scope.status_dicts)
            ):
                return  # a dict of fields being built (its use is the write)
            if self.counts(kind):
                if name in CREATES and self.first_status(call, status_value[1]):
                    return
                self.report(call, f"{ast.unparse(func)}({status_value[0]})")
            return
        if isinstance(func, ast.Attribute) and name == "bulk_update":
            fields = call.args[1] if len(call.args) > 1 else None
            fields = next((k.value for k in call.keywords if k.arg == "fields"), fields)
            kind = self.kind(func.value, scope, owner)
            if call.args and kind is None:
                kind = self.kind(call.args[0], scope, owner)
            named = _literal_strings(fields)
            if self.counts(kind) and (named is None or "status" in named):
                self.report(
                    call, f"{ast.unparse(func)}(…, {ast.unparse(fields) if fields else '?'})"
                )
            return
        if isinstance(func, ast.Name) and func.id == "setattr" and len(call.args) >= 2:
            attr = call.args[1]
            maybe_status = not isinstance(attr, ast.Constant) or attr.value == "status"
            if isinstance(attr, ast.Name) and attr.id in scope.keys_of:
                # The keys of a dict written out here, which never gains a status.
                source = scope.keys_of[attr.id]
                if source in scope.literal_dicts and source not in scope.status_dicts:
                    maybe_status = False
            if maybe_status and self.counts(self.kind(call.args[0], scope, owner)):
                self.report(call, f"setattr({ast.unparse(call.args[0])}, {ast.unparse(attr)}, …)")

    def check_assign(self, node: ast.stmt, scope: Scope, owner: str | None) -> None:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if not isinstance(sub, ast.Attribute) or sub.attr != "status":
                    continue
                if self.counts(self.kind(sub.value, scope, owner)):
                    self.report(node, f"{ast.unparse(sub)} = …")

    def check_sql(self, nodes: list[ast.AST]) -> None:
        tables = "|".join(re.escape(t) for t in sorted(self.models.tables))
        pattern = re.compile(
            rf"\b(update|insert\s+into)\s+[\"'`]?({tables})[\"'`]?\s", re.IGNORECASE | re.DOTALL
        )
        for node in nodes:
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            elif isinstance(node, ast.JoinedStr):
                text = "".join(
                    v.value if isinstance(v, ast.Constant) else "{}" for v in node.values
                )
            else:
                continue
            if pattern.search(text) and "status" in text.lower():
                self.report(node, "raw SQL writes a status")

    def scan(self) -> list[str]:
        tree = ast.parse(self.source, filename=str(self.path))
        self.own = _nodes_by_body(tree)
        if "status" in self.source.lower():  # raw SQL that writes one names it
            self.check_sql([node for nodes in self.own.values() for node in nodes])
        self._scan_body(tree, None, None)
        return sorted(set(self.found), key=lambda s: int(s.split(":")[1].split(" ")[0]))

    def _scan_body(self, body: ast.AST, owner: str | None, outer: Scope | None) -> None:
        own = self.own.get(body, [])
        scope = self._scope_of(body, own, self.models, owner, outer)
        for node in own:
            if isinstance(node, ast.ClassDef):
                self._scan_body(node, node.name, scope)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                self._scan_body(node, owner, scope)
            elif isinstance(node, ast.Call):
                self.check_call(node, scope, owner)
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                self.check_assign(node, scope, owner)


BODIES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _nodes_by_body(tree: ast.AST) -> dict[ast.AST, list[ast.AST]]:
    """For the module and each function, class and lambda: its own nodes, not those of the
    bodies inside it (those are listed themselves, to be scanned with their own names)."""
    out: dict[ast.AST, list[ast.AST]] = {tree: []}
    stack: list[tuple[ast.AST, ast.AST]] = [(child, tree) for child in ast.iter_child_nodes(tree)]
    while stack:
        node, body = stack.pop()
        out[body].append(node)
        inner = body
        if isinstance(node, BODIES):
            out[node] = []
            inner = node
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))
    return out


def _is_status(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == "status"


def _dict_has_status(node: ast.expr | None) -> bool:
    if isinstance(node, ast.Dict):
        return any(key is not None and _is_status(key) for key in node.keys)
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "dict":
        return any(k.arg == "status" for k in node.keywords)
    return False


def _status_argument(call: ast.Call, scope: Scope) -> tuple[str, ast.expr | None] | None:
    """How the call passes a status, if it does: (how, the value when known)."""
    for keyword in call.keywords:
        if keyword.arg == "status":
            return "status=…", keyword.value
        if keyword.arg is None:  # **something
            value = keyword.value
            if _dict_has_status(value):
                assert isinstance(value, ast.Dict | ast.Call)
                inner = None
                if isinstance(value, ast.Dict):
                    inner = next(
                        (
                            v
                            for k, v in zip(value.keys, value.values)
                            if k is not None and _is_status(k)
                        ),
                        None,
                    )
                return "**{'status': …}", inner
            if isinstance(value, ast.Name) and value.id in scope.status_dicts:
                return f"**{value.id} (holds status)", None
        named = isinstance(keyword.value, ast.Name) and keyword.value.id in scope.status_dicts
        if keyword.arg in ("defaults", "create_defaults") and (
            _dict_has_status(keyword.value) or named
        ):
            return f"{keyword.arg}={{'status': …}}", None
    return None


def _literal_strings(node: ast.expr | None) -> set[str] | None:
    """The strings of a literal list/tuple/set, or None when not written out."""
    if isinstance(node, ast.List | ast.Tuple | ast.Set) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return {e.value for e in node.elts}  # type: ignore[attr-defined]
    return None


def status_writes(
    path: Path, label: str, *, strict: bool, models: Models | None = None
) -> list[str]:
    """The places in the module at `path` that write a Resource or Run status. `strict`: a
    write whose target is unknown counts (the provisioning app, where only those two have
    a status)."""
    return _Scanner(path, label, models or Models.load(), strict).scan()
