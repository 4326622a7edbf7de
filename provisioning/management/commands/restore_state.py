"""`manage.py restore_state RESOURCE [--generation N]`: put a resource's state back from a
backup generation (`backup_state` and the beat schedule make them)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import BaseCommand, CommandError

from provisioning.choices import RUN_ACTIVE, ResourceStatus
from provisioning.engine.backend import backup_generations, restore_state

from ._common import get_resource


class Command(BaseCommand):
    help = (
        "Restore a resource's Terraform state from a backup generation (1 = the newest). "
        "Refused while a run works on the resource or its state waits to be pushed. "
        "Plan the resource afterwards to see what the restored state says."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("resource", help="The resource's id")
        parser.add_argument(
            "--generation", type=int, default=1, help="Backup generation, 1 = newest (default)"
        )
        parser.add_argument("--bucket", default="", help="Backup bucket (default: the setting)")
        parser.add_argument(
            "--list", action="store_true", help="List the backup generations and stop"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        resource = get_resource(options["resource"])
        bucket = options["bucket"] or None
        try:
            if options["list"]:
                for number, prefix in enumerate(backup_generations(bucket), 1):
                    self.stdout.write(f"{number}: {prefix}")
                return
            if resource.runs.filter(status__in=RUN_ACTIVE).exists():
                raise CommandError(
                    f"Resource {resource.pk} has a queued or running run; wait for it or "
                    "cancel it first."
                )
            if resource.status == ResourceStatus.STATE_PENDING:
                raise CommandError(
                    f"Resource {resource.pk} holds an applied state not yet stored; push it "
                    "(manage.py push_state) instead of restoring an older one."
                )
            done = restore_state(resource, options["generation"], bucket)
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        except (BotoCoreError, ClientError) as exc:
            raise CommandError(f"Restore failed: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the state of resource {resource.pk} from generation "
                f"{done['generation']} ({done['prefix']}): serial {done['serial']}, "
                f"{done['resources']} resources. Plan the resource to check it."
            )
        )
