"""`manage.py add_catalog_location TYPE TARGET [--team T] [--ref R]`: register a location
whose catalog-info.yaml files are discovered (as the platform: local paths allowed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.choices import LocationType
from catalog.software.services import discovery
from idp.models import Team
from idp.services import ServiceError


class Command(BaseCommand):
    help = "Register a catalog location: a GitHub organisation or a Git URL / local path."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("type", choices=LocationType.values)
        parser.add_argument("target", help="Organisation login, Git URL or local path")
        parser.add_argument("--team", help="Slug of the team whose entities it holds")
        parser.add_argument("--ref", default="", help="Branch or tag (default branch if empty)")
        parser.add_argument("--scan", action="store_true", help="Scan it now, in this process")

    def handle(self, *args: Any, **options: Any) -> None:
        team = None
        if options["team"]:
            team = Team.objects.filter(slug=options["team"]).first()
            if team is None:
                raise CommandError(f"No team {options['team']!r}.")
        try:
            location = discovery.register_location(
                None, options["type"], options["target"], ref=options["ref"], team=team
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"registered location {location.pk}: {location}")
        if options["scan"]:
            result = discovery.scan_location(location).as_json()
            self.stdout.write(f"scanned: {result['counts']}")
            if not result["ok"]:
                raise CommandError(result["error"] or "some files had errors (see last_result)")
