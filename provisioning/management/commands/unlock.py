from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from idp.services import ServiceError
from provisioning import actions

from ._common import get_resource, service_error


class Command(BaseCommand):
    help = "Clear a stale lock of a resource (its run lock and Terraform's state lock); audited."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("resource_id", help="Resource id")

    def handle(self, *args: Any, **options: Any) -> None:
        resource = get_resource(options["resource_id"])
        try:
            unlocked = actions.unlock(resource, actor=None)
        except ServiceError as error:
            raise service_error(error) from None
        if unlocked.removed_any:
            self.stdout.write(self.style.SUCCESS(unlocked.message))
        else:
            self.stdout.write(unlocked.message)
