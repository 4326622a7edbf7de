"""Metrics and costs passes as jobs (idp/jobs, kind `COLLECTION`): each pass is a
Collection row claimed with a heartbeat, so a pass whose worker died is failed by the
reaper with the reason instead of staying `running` for ever."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.utils import timezone

from idp.jobs import dispatch as jobs
from idp.jobs.registry import JobKind, register

from ..choices import CollectionKind, CollectionStatus
from ..models import Collection


def run(kind: str, collect: Callable[[Collection], None]) -> Collection:
    """Run one pass now, in this process (the beat's task, a command): `collect` fills the
    row's counts and errors; the job writes its end."""
    row = Collection.objects.create(
        kind=kind, status=CollectionStatus.QUEUED, queued_at=timezone.now()
    )
    jobs.run_inline(COLLECTION, row, _work(collect))
    row.refresh_from_db()
    return row


def run_queued(collection_id: int) -> Collection | None:
    """A queued pass the sweeper sent (its first process died before claiming it)."""
    kind = Collection.objects.filter(pk=collection_id).values_list("kind", flat=True).first()
    if kind is None:
        return None
    done = jobs.execute(COLLECTION, collection_id, _work(_default(kind)))
    return None if done is None else Collection.objects.get(pk=collection_id)


def _default(kind: str) -> Callable[[Collection], None]:
    from . import accuracy, costs, metrics

    if kind == CollectionKind.ACCURACY:
        return accuracy.collect_accuracy_into
    if kind == CollectionKind.COSTS:
        return costs.collect_costs_into
    if kind == CollectionKind.METRICS:
        return metrics.collect_metrics_into
    raise ValueError(f"collections of kind {kind!r} are not jobs")


def _work(collect: Callable[[Collection], None]) -> jobs.Work:
    def work(collection: Collection, workdir: Path) -> jobs.Done:
        collect(collection)
        status = collection.finish()
        errors = len(collection.errors)
        return jobs.Done(status, f"{errors} error{'s' if errors != 1 else ''}" if errors else "")

    return work


COLLECTION = register(
    JobKind(
        name="monitoring.collection",
        label="monitoring collection",
        task="monitoring.tasks.run_collection",
        model=Collection,
        max_attempts=1,  # a lost pass is failed: the next scheduled one collects anyway
    )
)
