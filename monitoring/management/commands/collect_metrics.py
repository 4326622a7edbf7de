from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from monitoring.services import alarms, metrics


class Command(BaseCommand):
    help = "Read CloudWatch metrics of every provisioned resource and store them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hours", type=int, default=None, help="Look back this many hours")

    def handle(self, *args: Any, **options: Any) -> None:
        collection = metrics.collect_metrics(hours=options["hours"])
        changed = alarms.refresh_alarm_states()
        self.stdout.write(
            f"metrics: {collection.status}, {collection.stored} samples stored, "
            f"{len(collection.errors)} errors, {changed} alarm states changed"
        )
        for error in collection.errors:
            self.stderr.write(str(error))
