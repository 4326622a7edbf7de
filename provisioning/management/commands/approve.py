from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from idp.services import ServiceError
from provisioning import actions
from provisioning.choices import ResourceStatus

from ._common import get_resource, get_user, service_error


class Command(BaseCommand):
    help = (
        "Approve a resource's pending plan as USER (the environment's approval policy: roles, "
        "number of approvals, and nobody who changed the plan)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("resource_id", help="Resource id")
        parser.add_argument("--as", dest="username", required=True, help="Who approves")
        parser.add_argument("--reason", default="", help="A note kept with the decision")

    def handle(self, *args: Any, **options: Any) -> None:
        resource = get_resource(options["resource_id"])
        user = get_user(options["username"])
        try:
            actions.approve(resource, actor=user, reason=options["reason"])
        except ServiceError as error:
            raise service_error(error) from None
        resource.refresh_from_db(fields=["status"])
        if resource.status == ResourceStatus.AWAITING_APPROVAL:
            self.stdout.write(
                self.style.SUCCESS(f"Approval of {resource} recorded; it needs more approvals.")
            )
        else:
            self.stdout.write(self.style.SUCCESS(f"Approved the plan of {resource}; apply queued."))
