from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from idp import services
from idp.auth import scim


class Command(BaseCommand):
    help = (
        "Hand existing users to SCIM: the identity provider may then rename, re-address and "
        "deactivate them. Platform admins only; never superusers, staff, platform admins or "
        "service accounts. Audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("usernames", nargs="+", help="The users to hand over")
        parser.add_argument(
            "--actor", required=True, help="The platform admin handing them over (audited)"
        )
        parser.add_argument(
            "--external-id", default="", help="The IdP's id of the user (one user only)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        actor = users.filter(username=options["actor"]).first()
        if actor is None:
            raise CommandError(f"No user {options['actor']!r}")
        if options["external_id"] and len(options["usernames"]) != 1:
            raise CommandError("--external-id names the IdP's id of one user: give one username")
        for name in options["usernames"]:
            user = users.filter(username=name).first()
            if user is None:
                raise CommandError(f"No user {name!r}")
            try:
                scim.hand_user_to_scim(user, actor=actor, external_id=options["external_id"])
            except scim.NotPlatformAdmin as exc:
                raise CommandError(str(exc)) from exc
            except services.ServiceError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(f"{name} is now managed by SCIM")
