"""`manage.py backup_state`: copy every state object to a backup prefix or bucket."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from provisioning.engine.backend import backup_states


class Command(BaseCommand):
    help = "Copy every Terraform state object to a dated backup prefix (or another bucket)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bucket", default="", help="Backup bucket (default: the same)")
        parser.add_argument(
            "--prefix",
            default="",
            help="Backup prefix (default: backups/<UTC timestamp>/)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        prefix = options["prefix"] or f"backups/{timezone.now():%Y%m%dT%H%M%SZ}/"
        try:
            copied = backup_states(options["bucket"] or None, prefix)
        except Exception as exc:  # noqa: BLE001 - any AWS error, said plainly
            raise CommandError(f"Backup failed: {exc}") from exc
        self.stdout.write(f"Copied {len(copied)} state objects to {prefix}")
        for key in copied:
            self.stdout.write(f"  {key}")
