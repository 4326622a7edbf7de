from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.choices import CollectionStatus
from monitoring.services import budgets, costs


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Ingest daily costs from Cost Explorer, then raise the budget alerts they cross; "
        "exit 1 unless every environment's costs came in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", help="First day (YYYY-MM-DD); default: last month's first")
        parser.add_argument("--end", help="Day after the last (YYYY-MM-DD); default: tomorrow")

    def handle(self, *args: Any, **options: Any) -> None:
        start = _day(options["start"]) if options["start"] else None
        end = _day(options["end"]) if options["end"] else None
        collection = costs.collect_costs(start=start, end=end)
        raised = budgets.evaluate_budgets()
        self.stdout.write(
            f"costs: {collection.status}, {collection.stored} records stored, "
            f"{len(collection.errors)} errors, {len(raised)} alerts raised"
        )
        for error in collection.errors:
            self.stderr.write(str(error))
        if collection.status != CollectionStatus.SUCCEEDED:
            # Partial counts as not done: some environments' costs are missing.
            raise CommandError(
                f"Cost collection {collection.status}: {len(collection.errors)} "
                + ("error" if len(collection.errors) == 1 else "errors")
            )
