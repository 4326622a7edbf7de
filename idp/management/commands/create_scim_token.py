from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from idp.auth import scim


class Command(BaseCommand):
    help = (
        "Create a SCIM bearer token for an identity provider (Okta, Entra ID) and print it "
        "alone on stdout (once; only a hash is kept). Platform admins only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default="scim", help="What the token is for, e.g. okta")
        parser.add_argument(
            "--actor", required=True, help="The platform admin creating it (audited)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = get_user_model().objects.filter(username=options["actor"]).first()
        if actor is None:
            raise CommandError(f"No user {options['actor']!r}")
        try:
            _, raw = scim.create_scim_token(name=options["name"], actor=actor)
        except scim.NotPlatformAdmin as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(raw)
