"""Create or update the scorecard rules from catalog/software/scorecards.yaml (or --file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.software.services.scorecards import ScorecardError, sync_rules


class Command(BaseCommand):
    help = "Sync scorecard rules from a YAML file (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, help="Rules file (default: the shipped one)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = sync_rules(options.get("file"))
        except ScorecardError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"scorecard rules: {len(result.created)} created, {len(result.updated)} updated, "
            f"{len(result.unchanged)} unchanged"
        )
