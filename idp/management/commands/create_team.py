from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from idp import services


def _readable(exc: ValidationError) -> str:
    """`slug: Use 1-63 lowercase letters…`, not a dict repr of the model's field errors.

    Per field, the last message: the platform's own validators run after Django's generic
    ones ("Enter a valid slug…", which would also allow what the platform refuses)."""
    if hasattr(exc, "error_dict"):
        return "; ".join(
            messages[-1] if field == "__all__" else f"{field}: {messages[-1]}"
            for field, messages in exc.message_dict.items()
            if messages
        )
    return " ".join(exc.messages)


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
        except ValidationError as exc:  # the model's own field rules (full_clean)
            raise CommandError(f"Cannot create team {options['slug']!r}: {_readable(exc)}") from exc
        self.stdout.write(self.style.SUCCESS(f"Created team {team.slug} ({team.name})"))
