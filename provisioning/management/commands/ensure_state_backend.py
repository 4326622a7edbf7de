"""`manage.py ensure_state_backend`: the Terraform state bucket, versioned, encrypted, private,
and the DynamoDB lock table of every environment that locks state with one."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from idp.choices import StateLocking
from idp.models import Environment
from provisioning.engine.backend import ensure_lock_table, ensure_state_bucket


class Command(BaseCommand):
    help = (
        "Create the state bucket if missing; turn on versioning, encryption, no public access. "
        "Create the DynamoDB lock tables environments name."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = ensure_state_bucket()
        except Exception as exc:  # noqa: BLE001 - any AWS error, said plainly
            raise CommandError(f"Could not prepare the state bucket: {exc}") from exc
        verb = "Created" if result["created"] else "Checked"
        self.stdout.write(
            f"{verb} state bucket {result['bucket']}: versioned, encrypted, public access blocked"
        )
        tables = Environment.objects.filter(state_locking=StateLocking.DYNAMODB)
        for name in sorted(set(tables.values_list("dynamodb_lock_table", flat=True))):
            try:
                table = ensure_lock_table(name)
            except Exception as exc:  # noqa: BLE001 - any AWS error, said plainly
                raise CommandError(f"Could not prepare the lock table {name}: {exc}") from exc
            verb = "Created" if table["created"] else "Checked"
            self.stdout.write(f"{verb} DynamoDB lock table {name}")
