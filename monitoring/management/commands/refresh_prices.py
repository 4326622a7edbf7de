from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.services.price_list import refresh_prices


class Command(BaseCommand):
    help = (
        "Refresh the price catalog of a region from the AWS Price List Query API "
        "(pricing:GetProducts): a new catalog version when any price answered; exit 1 "
        "when none did."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--region", help="Default: IDP_PRICING_REGION")

    def handle(self, *args: Any, **options: Any) -> None:
        result = refresh_prices(options["region"])
        for error in result.errors:
            self.stderr.write(error)
        if result.catalog is None:
            raise CommandError(
                f"No price of {result.region} refreshed; the catalog in use is unchanged."
            )
        self.stdout.write(
            f"{result.region}: catalog version {result.catalog.pk} of "
            f"{result.catalog.source_date}: {len(result.refreshed)} prices from the Price "
            f"List ({len(result.changed)} changed), {result.kept} kept from the version before"
        )
        for change in result.changed:
            self.stdout.write(f"  {change}")
