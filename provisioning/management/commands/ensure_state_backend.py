"""`manage.py ensure_state_backend`: the Terraform state bucket, versioned, encrypted, private."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from provisioning.engine.backend import ensure_state_bucket


class Command(BaseCommand):
    help = "Create the state bucket if missing; turn on versioning, encryption, no public access."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = ensure_state_bucket()
        except Exception as exc:  # noqa: BLE001 - any AWS error, said plainly
            raise CommandError(f"Could not prepare the state bucket: {exc}") from exc
        verb = "Created" if result["created"] else "Checked"
        self.stdout.write(
            f"{verb} state bucket {result['bucket']}: versioned, encrypted, public access blocked"
        )
