from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from idp.services import ServiceError
from provisioning import actions

from ._common import get_resource, get_user, service_error


class Command(BaseCommand):
    help = (
        "Break-glass: a platform admin (USER) approves a resource's pending plan alone, past "
        "the four-eyes rule. A reason is required; the override is audited and shown."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("resource_id", help="Resource id")
        parser.add_argument("--as", dest="username", required=True, help="The platform admin")
        parser.add_argument("--reason", required=True, help="Why this cannot wait")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["reason"].strip():
            raise CommandError("Give a reason with --reason.")
        resource = get_resource(options["resource_id"])
        user = get_user(options["username"])
        try:
            actions.break_glass(resource, actor=user, reason=options["reason"])
        except ServiceError as error:
            raise service_error(error) from None
        self.stdout.write(
            self.style.WARNING(f"Break-glass approval of {resource} recorded; apply queued.")
        )
