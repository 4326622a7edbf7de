from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from idp import services
from idp.choices import Role
from idp.models import Team


class Command(BaseCommand):
    help = "Add a user to a team with a role (creates the user if missing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("team")
        parser.add_argument("username")
        parser.add_argument("--role", choices=Role.values, default=Role.MEMBER)
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"No team {options['team']!r}")
        user, created = services.ensure_user(options["username"], email=options["email"])
        services.set_membership(team, user, options["role"])
        made = " (new user, no password: set one or use SSO)" if created else ""
        self.stdout.write(
            self.style.SUCCESS(f"{user.get_username()} is {options['role']} of {team.slug}{made}")
        )
