"""`manage.py sync_catalog_entities`: teams, members, services and live resources as
catalog entities (idempotent; the hooks keep them current between runs)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from catalog.software.services.entities import sync_platform_entities


class Command(BaseCommand):
    help = "Mirror teams, members, services and live resources as catalog entities."

    def handle(self, *args: Any, **options: Any) -> None:
        report = sync_platform_entities()
        for label in ("created", "changed", "deleted"):
            for ref in getattr(report, label):
                self.stdout.write(f"{label} {ref}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(report.created)} created, {len(report.changed)} changed, "
                f"{len(report.deleted)} deleted"
            )
        )
