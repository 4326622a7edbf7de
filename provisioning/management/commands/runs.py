from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from provisioning.choices import RunStatus
from provisioning.models import Run


class Command(BaseCommand):
    help = "List the newest runs as a table, optionally of one status."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--status", choices=RunStatus.values, help="Only runs in this status")
        parser.add_argument("--limit", type=int, default=50, help="At most this many (default 50)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        runs = (
            Run.objects.select_related("resource__team", "resource__environment", "created_by")
            .defer("plan_file", "plan_text", "parameters")
            .order_by("-created_at", "-id")
        )
        if options["status"]:
            runs = runs.filter(status=options["status"])
        rows = [
            (
                str(run.pk),
                str(run.resource_id),
                f"{run.resource.team.slug}/{run.resource.environment.slug}/{run.resource.name}",
                run.kind + (" (destroy)" if run.is_destroy else ""),
                run.status,
                run.created_by.get_username() if run.created_by else "system",
                run.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                f"{run.duration_seconds:.1f}s" if run.duration_seconds is not None else "-",
            )
            for run in runs[: options["limit"]]
        ]
        header = ("RUN", "RESOURCE", "NAME", "KIND", "STATUS", "BY", "CREATED", "DURATION")
        if not rows:
            self.stdout.write("No runs.")
            return
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
