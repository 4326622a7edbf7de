"""`manage.py backup_state`: copy every state object to a new backup generation (the beat
schedule does the same, see IDP_STATE_BACKUP_EVERY_HOURS), or to a prefix of your own."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from idp.conf import setting
from provisioning.engine.backend import (
    backup_bucket,
    backup_states,
    new_generation_prefix,
    prune_backups,
)
from provisioning.engine.parameter_backup import export_parameters


class Command(BaseCommand):
    help = (
        "Copy every Terraform state object and the outputs published to Parameter Store to a "
        "new backup generation (backups/<UTC time>/) and keep the newest "
        "IDP_STATE_BACKUP_GENERATIONS; or to --prefix, kept as is."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bucket", default="", help="Backup bucket (default: the setting)")
        parser.add_argument(
            "--prefix",
            default="",
            help="Backup prefix (default: a new generation, backups/<UTC time>/)",
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            help="Generations kept (default IDP_STATE_BACKUP_GENERATIONS); not with --prefix",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bucket = options["bucket"] or backup_bucket()
        prefix = options["prefix"] or new_generation_prefix(timezone.now())
        try:
            copied = backup_states(bucket, prefix)
            parameters = export_parameters(prefix, bucket)
            removed: list[str] = []
            if not options["prefix"]:
                keep = options["keep"] or setting("IDP_STATE_BACKUP_GENERATIONS")
                removed = prune_backups(keep, bucket)
        except Exception as exc:  # noqa: BLE001 - any AWS error, said plainly
            raise CommandError(f"Backup failed: {exc}") from exc
        self.stdout.write(f"Copied {len(copied)} state objects to {prefix}")
        for key in copied:
            self.stdout.write(f"  {key}")
        for environment, count in parameters["exported"].items():
            noun = "output" if count == 1 else "outputs"
            self.stdout.write(f"Saved {count} Parameter Store {noun} of {environment}")
        for environment, reason in parameters["errors"].items():
            self.stderr.write(f"Parameter Store outputs of {environment} not saved: {reason}")
        config = parameters["config"]
        if config and "error" in config:
            self.stderr.write(
                f"The configuration under {config['path']} not saved: {config['error']}"
            )
        elif config:
            noun = "parameter" if config["saved"] == 1 else "parameters"
            self.stdout.write(f"Saved {config['saved']} configuration {noun} of {config['path']}")
        for old in removed:
            self.stdout.write(f"Removed the old generation {old}")
        if parameters["errors"]:
            raise CommandError(
                "Backup incomplete: the Parameter Store outputs of "
                + ", ".join(sorted(parameters["errors"]))
                + " were not saved"
            )
        if config and "error" in config:
            raise CommandError("Backup incomplete: the platform's configuration was not saved")
