from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.choices import CollectionStatus
from monitoring.services import accuracy


def _month(value: str) -> date:
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        raise CommandError(f"{value!r} is not a month (YYYY-MM)") from None


class Command(BaseCommand):
    help = (
        "Check estimates against Cost Explorer actuals for one complete month (default: "
        "last month): estimate and actual of every resource that stood unchanged all month."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM; default: last month")

    def handle(self, *args: Any, **options: Any) -> None:
        month = _month(options["month"]) if options["month"] else None
        collection = accuracy.collect_accuracy(month)
        self.stdout.write(
            f"accuracy: {collection.status}, {collection.stored} resources checked, "
            f"{len(collection.errors)} errors"
        )
        for error in collection.errors:
            self.stderr.write(str(error))
        if collection.status != CollectionStatus.SUCCEEDED:
            raise CommandError(f"Accuracy collection {collection.status}")
