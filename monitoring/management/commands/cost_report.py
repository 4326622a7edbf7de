from __future__ import annotations

import csv
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from idp.models import Team
from monitoring.models import Budget, CostRecord
from monitoring.services.costs import costs_by, month_bounds


class Command(BaseCommand):
    help = "A team's costs for one month, by service and environment (table or CSV)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True)
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--format", choices=["table", "csv"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"Unknown team {options['team']!r}")
        try:
            year, month = (int(p) for p in options["month"].split("-"))
            first, next_first = month_bounds(date(year, month, 1))
        except (ValueError, OverflowError):  # OverflowError: the month after December 9999
            raise CommandError(f"{options['month']!r} is not a month (YYYY-MM)") from None
        qs = CostRecord.objects.filter(team=team, date__gte=first, date__lt=next_first)
        rows = qs.order_by().values_list("service_slug", "environment_slug").distinct()
        lines = []
        for service, environment in sorted(rows):
            part = qs.filter(service_slug=service, environment_slug=environment)
            amount = costs_by(part, "team")[0]["amount"]
            lines.append((service or "(untagged)", environment, amount))
        total = costs_by(qs, "team")[0]["amount"] if lines else "0.00"
        budget = Budget.objects.filter(team=team).first()
        if options["format"] == "csv":
            writer = csv.writer(self.stdout)
            writer.writerow(["team", "month", "service", "environment", "amount_usd"])
            for service, environment, amount in lines:
                writer.writerow([team.slug, options["month"], service, environment, amount])
            writer.writerow([team.slug, options["month"], "TOTAL", "", total])
            return
        self.stdout.write(f"Costs of {team.slug} in {options['month']} (USD)")
        self.stdout.write(f"{'service':<30} {'environment':<15} {'amount':>12}")
        for service, environment, amount in lines:
            self.stdout.write(f"{service:<30} {environment:<15} {amount:>12}")
        self.stdout.write(f"{'total':<46} {total:>12}")
        if budget:
            self.stdout.write(f"{'budget':<46} {budget.monthly_amount:>12}")
