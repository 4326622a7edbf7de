"""manage.py sync_pipeline_runs: poll GitHub for runs of pipelines whose webhooks went quiet."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.defaultfilters import pluralize

from idp.github_client import GitHubError
from idp.services import ServiceError
from pipelines import runs
from pipelines.models import Pipeline


class Command(BaseCommand):
    help = "Fetch recent workflow runs from GitHub for delivered pipelines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pipeline",
            type=int,
            action="append",
            default=[],
            help="Only this pipeline id (repeatable)",
        )
        parser.add_argument(
            "--quiet-minutes",
            type=int,
            default=None,
            help="Pipelines not heard from for this long (default: setting)",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            help="Every delivered pipeline, however recently it was heard from",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["pipeline"]:
            pipelines = Pipeline.objects.filter(pk__in=options["pipeline"])
            missing = set(options["pipeline"]) - set(pipelines.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"No pipeline with id {', '.join(map(str, sorted(missing)))}")
        else:
            minutes = 0 if options["all"] else options["quiet_minutes"]
            pipelines = runs.quiet_pipelines(minutes)
        synced = failed = stored = 0
        for pipeline in pipelines.select_related("service__team"):
            try:
                count = runs.sync_pipeline(pipeline)
            except (GitHubError, ServiceError) as exc:
                failed += 1
                self.stderr.write(f"{pipeline}: {exc.message}")
                continue
            synced += 1
            stored += count
            self.stdout.write(f"{pipeline}: {count} run record{pluralize(count)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Synced {synced} pipeline{pluralize(synced)}, "
                f"{stored} run record{pluralize(stored)}, {failed} failed."
            )
        )
        if failed and not synced:
            raise CommandError("Every sync failed.")
