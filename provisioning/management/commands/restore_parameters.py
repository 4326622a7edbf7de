"""`manage.py restore_parameters [--generation N] [--config]`: put the resource outputs
published to Parameter Store, or with `--config` the platform's own configuration, back from a
backup generation (`backup_state` and the schedule make them)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import BaseCommand, CommandError

from provisioning.engine.parameter_backup import restore_parameters


class Command(BaseCommand):
    help = (
        "Restore Parameter Store outputs from a backup generation (1 = the newest): parameters "
        "that differ from the backup or are gone are written back with their type; others are "
        "left alone. Needs the IDP_ENCRYPTION_KEY the backup was made with for SecureStrings."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--generation", type=int, default=1, help="Backup generation, 1 = newest (default)"
        )
        parser.add_argument("--environment", default=None, help="Only this environment's")
        parser.add_argument(
            "--path", default="", help="Only parameters under this path, e.g. /idp/payments"
        )
        parser.add_argument("--bucket", default="", help="Backup bucket (default: the setting)")
        parser.add_argument(
            "--config",
            action="store_true",
            help="Restore the platform's configuration (IDP_CONFIG_SSM_PREFIX) instead of outputs",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be restored; write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["config"] and options["environment"]:
            raise CommandError("--environment applies to outputs, not to --config")
        try:
            done = restore_parameters(
                options["generation"],
                environment=options["environment"],
                path=options["path"],
                bucket=options["bucket"] or None,
                dry_run=options["dry_run"],
                config=options["config"],
            )
        except LookupError as exc:
            raise CommandError(str(exc)) from exc
        except (BotoCoreError, ClientError) as exc:
            raise CommandError(f"Restore failed: {exc}") from exc
        verb = "Would restore" if done["dry_run"] else "Restored"
        what = "configuration parameter" if options["config"] else "parameter"
        self.stdout.write(
            f"{verb} {_count(done['restored'], what)} from {done['prefix']} "
            f"({len(done['unchanged'])} already as backed up)"
        )
        for name in done["restored"]:
            # Names only: values (secrets among them) are never printed.
            state = "gone" if name in done["missing"] else "differs"
            self.stdout.write(f"  {name} ({state})")
        for name, reason in done["skipped"].items():
            self.stderr.write(f"Skipped {name}: {reason}")
        if done["skipped"]:
            raise CommandError(f"{_count(done['skipped'], 'parameter')} could not be restored")


def _count(items: Any, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"
