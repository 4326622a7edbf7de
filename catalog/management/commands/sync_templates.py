"""`manage.py sync_templates`: load the template folders into the catalog."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.defaultfilters import pluralize

from catalog.services import sync_templates


class Command(BaseCommand):
    help = "Load terraform_modules/ (and IDP_TEMPLATE_DIRS) into the catalog; exit 1 if any fail."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slugs", nargs="*", help="Only these templates (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        report = sync_templates(only=options["slugs"] or None)
        for item in report.created:
            self.stdout.write(self.style.SUCCESS(f"created   {item}"))
        for item in report.changed:
            self.stdout.write(self.style.SUCCESS(f"changed   {item}"))
        for item in report.unchanged:
            self.stdout.write(f"unchanged {item}")
        for message in report.failed.values():
            self.stderr.write(self.style.ERROR(f"failed    {message}"))
        self.stdout.write(
            f"{len(report.loaded)} loaded ({len(report.created)} new,"
            f" {len(report.changed)} changed), {len(report.failed)} failed"
        )
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} template{pluralize(len(report.failed))} failed to load"
            )
