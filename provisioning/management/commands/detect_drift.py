"""`manage.py detect_drift`: a refresh-only plan on provisioned resources; drift is flagged."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from idp.conf import setting
from provisioning import actions
from provisioning.choices import RUN_TERMINAL, RunStatus
from provisioning.engine.runner import RunTask
from provisioning.models import Resource, Run


def _finished(run_id: int) -> Run:
    """The run once it has ended: a worker may have taken it before this process did."""
    deadline = time.monotonic() + setting("IDP_RUN_TIME_LIMIT")
    run = Run.objects.get(pk=run_id)
    while run.status not in RUN_TERMINAL and time.monotonic() < deadline:
        time.sleep(0.5)
        run = Run.objects.get(pk=run_id)
    return run


class Command(BaseCommand):
    help = (
        "Queue a drift check (refresh-only plan) on provisioned resources; exit 1 when a "
        "named resource was not checked or (with --now) a check failed."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Resource ids (default: all)")
        parser.add_argument(
            "--now", action="store_true", help="Run the checks in this process, not on a worker"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ids: list[int] = options["ids"]
        resources = None
        if ids:
            resources = Resource.objects.filter(pk__in=ids)
            missing = sorted(set(ids) - set(resources.values_list("pk", flat=True)))
            if missing:
                raise CommandError(f"No resource with id {', '.join(map(str, missing))}")
        runs = actions.detect_drift(resources)
        self.stdout.write(f"Queued {len(runs)} drift checks")
        queued = {run.resource_id for run in runs}
        skipped = [pk for pk in ids if pk not in queued]
        failed: list[str] = []
        if options["now"]:
            for run in runs:
                RunTask(run.pk).run()
                done = _finished(run.pk)
                resource = Resource.objects.get(pk=run.resource_id)
                if done.status != RunStatus.SUCCEEDED:
                    failed.append(f"{resource.pk} {resource}: {done.status}: {done.error}")
                    self.stdout.write(f"{resource.pk} {resource}: check {done.status}")
                    continue
                state = "DRIFTED" if resource.drifted else "in sync"
                detail = ""
                if resource.drifted:
                    outputs = ", ".join(resource.drift_details.get("outputs", []))
                    addrs = ", ".join(
                        d["address"] for d in resource.drift_details.get("resources", [])
                    )
                    detail = f" (resources: {addrs or '-'}; outputs: {outputs or '-'})"
                self.stdout.write(f"{resource.pk} {resource}: {state}{detail}")
        problems = [f"drift check failed for {line}" for line in failed]
        if skipped:
            problems.append(
                f"not checked (not provisioned, or a run is active): {', '.join(map(str, skipped))}"
            )
        if problems:
            raise CommandError("; ".join(problems))
