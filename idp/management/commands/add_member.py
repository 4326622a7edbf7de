from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from idp import services
from idp.choices import Role
from idp.models import Team


class Command(BaseCommand):
    help = (
        "Add a user to a team with a role, or change their role. A missing user is created "
        "(with --email, without a password); an existing user is never changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("team")
        parser.add_argument("username")
        parser.add_argument("--role", choices=Role.values, default=Role.MEMBER)
        parser.add_argument(
            "--email",
            default="",
            help="the new user's address; for an existing user it must be theirs already",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"No team {options['team']!r}")
        try:
            membership, created = services.provision_member(
                team, options["username"], options["role"], email=options["email"]
            )
        except services.ServiceError as exc:
            raise CommandError(exc.message) from exc
        made = " (new user without a password: set one or use SSO)" if created else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"{membership.user.get_username()} is {options['role']} of {team.slug}{made}"
            )
        )
