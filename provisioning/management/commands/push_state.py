"""`manage.py push_state RUN`: store the state an apply could not store, now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from provisioning.engine.pending_state import StatePushFailed, push, waiting_runs


class Command(BaseCommand):
    help = (
        "Push the Terraform state that run RUN could not store in the backend (its resource "
        "is state_pending), then settle the resource. Exits non-zero when the push fails. "
        "Without RUN, lists the runs whose state waits."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("run", nargs="?", help="The run's id")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["run"]:
            rows = waiting_runs().values_list(
                "pk", "resource_id", "pending_state_attempts", "pending_state_retry_at"
            )
            if not rows:
                self.stdout.write("No state waits to be pushed.")
            for run_id, resource_id, attempts, retry_at in rows:
                self.stdout.write(
                    f"run {run_id} (resource {resource_id}): {attempts} failed attempts, "
                    f"next at {retry_at:%Y-%m-%d %H:%M:%S} UTC"
                )
            return
        try:
            run_id = int(options["run"])
        except ValueError:
            raise CommandError(f"Run id must be a number, not {options['run']!r}.") from None
        try:
            resource = push(run_id)
        except StatePushFailed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Pushed the state of run {run_id}; resource {resource.pk} is {resource.status}."
            )
        )
