from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from idp import services


class Command(BaseCommand):
    help = "Create a team with its role groups and permissions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--description", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            team = services.create_team(
                options["slug"], name=options["name"], description=options["description"]
            )
        except services.ServiceError as exc:
            raise CommandError(exc.message) from exc
        except Exception as exc:  # a validation error from full_clean
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created team {team.slug} ({team.name})"))
