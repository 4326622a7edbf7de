from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from idp import scopes as token_scopes
from idp import services
from idp.models import ServiceAccount, Team


def scopes_option(values: list[str] | None) -> list[str] | None:
    """`--scope read --scope write` or `--scope read,write`; None when not given."""
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


class Command(BaseCommand):
    help = (
        "Create an API token for a user or service account (sa:<team>:<name>) and print it "
        "alone on stdout (once; only a hash is kept)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            help="read, write, approve, admin or scim; repeat or comma-separate "
            "(default: read only; a service account's: read, write)",
        )
        parser.add_argument(
            "--expires", help="Lifetime: 30d, 12h, 2w or days (default IDP_TOKEN_DEFAULT_DAYS)"
        )
        parser.add_argument("--team", help="Limit the token to this team's objects")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user {options['username']!r}")
        team = None
        if options["team"]:
            team = Team.objects.filter(slug=options["team"]).first()
            if team is None:
                raise CommandError(f"No team {options['team']!r}")
        try:
            lifetime = (
                services.parse_token_lifetime(options["expires"]) if options["expires"] else None
            )
            _, raw = services.create_api_token(
                user,
                name=options["name"],
                scopes=token_scopes.asked_or_default(
                    scopes_option(options["scopes"]),
                    service_account=ServiceAccount.of(user) is not None,
                ),
                lifetime=lifetime,
                team=team,
            )
        except services.ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(raw)
