"""`manage.py detect_drift`: a refresh-only plan on provisioned resources; drift is flagged."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from provisioning import actions
from provisioning.engine.runner import RunTask
from provisioning.models import Resource


class Command(BaseCommand):
    help = "Queue a drift check (refresh-only plan) on provisioned resources."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Resource ids (default: all)")
        parser.add_argument(
            "--now", action="store_true", help="Run the checks in this process, not on a worker"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        resources = Resource.objects.filter(pk__in=options["ids"]) if options["ids"] else None
        runs = actions.detect_drift(resources)
        self.stdout.write(f"Queued {len(runs)} drift checks")
        if not options["now"]:
            return
        for run in runs:
            RunTask(run.pk).run()
            resource = Resource.objects.get(pk=run.resource_id)
            state = "DRIFTED" if resource.drifted else "in sync"
            detail = ""
            if resource.drifted:
                outputs = ", ".join(resource.drift_details.get("outputs", []))
                addrs = ", ".join(d["address"] for d in resource.drift_details.get("resources", []))
                detail = f" (resources: {addrs or '-'}; outputs: {outputs or '-'})"
            self.stdout.write(f"{resource.pk} {resource}: {state}{detail}")
