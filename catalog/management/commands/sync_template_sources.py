"""`manage.py sync_template_sources [ID ...]`: sync template sources now, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import TemplateSource
from catalog.services import sources


class Command(BaseCommand):
    help = "Sync template sources (all enabled, or these ids); exit 1 if any had errors."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Only these sources")

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = TemplateSource.objects.filter(enabled=True).order_by("pk")
        if options["ids"]:
            chosen = TemplateSource.objects.filter(pk__in=options["ids"]).order_by("pk")
        bad = 0
        for source in chosen:
            result = sources.sync_source(source).as_json()
            self.stdout.write(
                f"{source}: {result['refs']} refs, {len(result['created'])} new versions,"
                f" {result['unchanged']} unchanged"
            )
            for item in result["created"]:
                self.stdout.write(self.style.SUCCESS(f"  created {item}"))
            problems = {**result["refused"], **result["failed"]}
            if result["error"]:
                problems["source"] = result["error"]
            for ref, reason in problems.items():
                self.stderr.write(self.style.ERROR(f"  {ref}: {reason}"))
            bad += not result["ok"]
        if bad:
            raise CommandError(f"{bad} source(s) had errors")
