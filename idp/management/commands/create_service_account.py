from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from idp import service_accounts, services
from idp.choices import Role
from idp.models import Team

from .create_api_token import scopes_option


class Command(BaseCommand):
    help = (
        "Create a service account for a team; prints its username, or with --token only a "
        "new token of it (shown once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("team")
        parser.add_argument("name", help="A slug, e.g. ci (the account is sa:<team>:<name>)")
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--role",
            default=Role.MEMBER,
            choices=[Role.VIEWER, Role.MEMBER, Role.MAINTAINER],
        )
        parser.add_argument(
            "--created-by", help="The person answerable for it (named in its audit events)"
        )
        parser.add_argument("--token", action="store_true", help="Also create a token")
        parser.add_argument("--scope", action="append", dest="scopes", help="read and/or write")
        parser.add_argument("--expires", help="Token lifetime: 30d, 12h, 2w or days")
        parser.add_argument(
            "--github-repository", help='Trust GitHub Actions OIDC tokens of "owner/name"'
        )

    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"No team {options['team']!r}")
        creator = None
        if options["created_by"]:
            creator = get_user_model().objects.filter(username=options["created_by"]).first()
            if creator is None:
                raise CommandError(f"No user {options['created_by']!r}")
        try:
            with transaction.atomic():
                printed = self._create(team, creator, options)
        except services.ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(printed)

    def _create(self, team: Team, creator: Any, options: dict[str, Any]) -> str:
        # Ops at the command line act as nobody; the creator is only recorded.
        account = service_accounts.create_service_account(
            team,
            options["name"],
            description=options["description"],
            role=options["role"],
            created_by=creator,
        )
        if options["github_repository"]:
            service_accounts.bind_github_repository(account, options["github_repository"])
        if not options["token"]:
            return account.username
        lifetime = options["expires"]
        _, raw = service_accounts.create_service_account_token(
            account,
            name="cli",
            scopes=scopes_option(options["scopes"]),
            lifetime=services.parse_token_lifetime(lifetime) if lifetime else None,
        )
        return raw
