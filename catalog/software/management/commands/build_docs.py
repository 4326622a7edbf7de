"""`manage.py build_docs REF`: build a component's docs now, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.choices import DocsStatus, EntityKind
from catalog.models import Entity
from catalog.software.services import docs

KINDS = {kind.lower(): kind for kind in EntityKind.values}


def parse_ref(ref: str) -> tuple[str, str, str]:
    """`[kind:][namespace/]name` → (kind, namespace, name); kind Component by default."""
    kind, _, rest = ref.rpartition(":")
    namespace, _, name = rest.rpartition("/")
    stored = KINDS.get((kind or "component").lower())
    if stored is None or not name:
        raise CommandError(f"Not an entity reference: {ref!r} (kind:namespace/name).")
    return stored, namespace or "default", name


class Command(BaseCommand):
    help = "Build the docs of a component (e.g. component:default/payments-api); exit 1 on failure."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ref", help="The entity reference, kind:namespace/name")
        parser.add_argument(
            "--checkout", help="Build from this existing checkout instead of cloning"
        )
        parser.add_argument(
            "--queue", action="store_true", help="Queue the build for a worker instead"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kind, namespace, name = parse_ref(options["ref"])
        entity = Entity.objects.filter(kind=kind, namespace=namespace, name=name).first()
        if entity is None:
            raise CommandError(f"No entity {kind.lower()}:{namespace}/{name}.")
        try:
            if options["queue"]:
                build = docs.request_build(entity)
                self.stdout.write(f"queued build {build.pk} of {entity.ref}")
                return
            build = docs.build_docs(entity, checkout_dir=options["checkout"])
        except docs.DocsError as exc:
            raise CommandError(str(exc)) from exc
        if build.status != DocsStatus.SUCCEEDED:
            self.stderr.write(build.log)
            raise CommandError(f"docs build {build.pk} of {entity.ref} {build.status}")
        files = len(build.files or {})
        self.stdout.write(
            self.style.SUCCESS(
                f"docs of {entity.ref} built from {build.commit or 'a checkout'} ({files} files)"
            )
        )
