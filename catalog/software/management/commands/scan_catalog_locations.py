"""`manage.py scan_catalog_locations [ID …]`: scan registered locations now, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import Location
from catalog.software.services import discovery


class Command(BaseCommand):
    help = "Scan the catalog's registered locations (all enabled ones, or the ids given)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Location ids (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        locations = Location.objects.order_by("pk")
        locations = (
            locations.filter(pk__in=options["ids"])
            if options["ids"]
            else locations.filter(enabled=True)
        )
        failed = 0
        for location in locations:
            try:
                result = discovery.scan_location(location).as_json()
            except Exception as exc:  # noqa: BLE001 - one location must not stop the others
                failed += 1
                self.stderr.write(f"{location.pk} {location}: failed: {exc}")
                continue
            counts = result["counts"]
            line = (
                f"{location.pk} {location}: {counts['files']} files, {counts['created']} created,"
                f" {counts['changed']} changed, {counts['orphaned']} orphaned,"
                f" {counts['errors']} errors"
            )
            if result["ok"]:
                self.stdout.write(line)
            else:
                failed += 1
                self.stderr.write(line + (f" ({result['error']})" if result["error"] else ""))
        if failed:
            raise CommandError(f"{failed} location(s) had errors.")
