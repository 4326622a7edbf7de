"""What a job kind may bring of its own (idp/jobs/registry.JobKind): the queue its message
goes to, its own claim and reap (a kind whose statuses have their own writer: the framework
then writes none of them), and a heartbeat timeout and sweep grace read when used."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django.utils.module_loading import import_string

from catalog.models import TemplateSource
from idp.jobs import dispatch
from idp.jobs.models import JobStatus
from idp.jobs.registry import JobKind
from idp.jobs.sweep import reap_lost, sweep_queued

pytestmark = pytest.mark.django_db

TASK = "catalog.tasks.sync_template_source"


def source(status: str, **fields: Any) -> TemplateSource:
    return TemplateSource.objects.create(
        url=f"https://example.test/{TemplateSource.objects.count()}.git",
        status=status,
        **fields,
    )


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """The messages the task would have sent (args and options)."""
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    task = import_string(TASK)
    monkeypatch.setattr(task, "apply_async", lambda args, **options: calls.append((args, options)))
    return calls


def test_a_kind_routes_its_messages_to_its_queue(sent: list[Any]) -> None:
    asked: list[int] = []

    def queue(pk: int) -> str | None:
        asked.append(pk)
        return "terraform" if pk % 2 else None

    kind = JobKind(name="test.routed", task=TASK, model=TemplateSource, queue=queue)
    assert dispatch.send(kind, 3) and dispatch.send(kind, 4, countdown=5)
    assert sent == [((3,), {"queue": "terraform"}), ((4,), {"countdown": 5})]
    assert asked == [3, 4]
    plain = JobKind(name="test.plain", task=TASK, model=TemplateSource)
    assert dispatch.send(plain, 5) and sent[-1] == ((5,), {})


def test_a_kind_with_its_own_claim_is_claimed_by_it_alone() -> None:
    queued = source(JobStatus.QUEUED)
    calls: list[tuple[int, str]] = []

    def held_back(pk: int, worker: str) -> Any:
        calls.append((pk, worker))
        return None  # e.g. a lock another job holds: it stays queued

    kind = JobKind(name="test.own_claim", task=TASK, model=TemplateSource, claim=held_back)
    assert dispatch.claim(kind, queued.pk, "w" * 300) is None
    assert calls == [(queued.pk, "w" * 200)]  # the worker's name as the row keeps it
    queued.refresh_from_db()
    assert queued.status == JobStatus.QUEUED and queued.attempts == 0 and queued.worker == ""


def test_a_kind_with_its_own_reap_decides_and_writes_itself() -> None:
    old = timezone.now() - timedelta(hours=1)
    lost = source(JobStatus.RUNNING, heartbeat_at=old, attempts=1)
    beat_meanwhile = source(JobStatus.RUNNING, heartbeat_at=old, attempts=1)
    alive = source(JobStatus.RUNNING, heartbeat_at=timezone.now(), attempts=1)
    never_beat = source(JobStatus.RUNNING)  # not the framework's to reap
    asked: list[tuple[int, datetime]] = []

    def reap(pk: int, cutoff: datetime) -> bool:
        asked.append((pk, cutoff))
        return pk == lost.pk

    kind = JobKind(name="test.own_reap", task=TASK, model=TemplateSource, timeout=60, reap=reap)
    before = timezone.now()
    assert reap_lost(kind) == 1
    assert [pk for pk, _ in asked] == [lost.pk, beat_meanwhile.pk]
    cutoff = asked[0][1]
    assert before - timedelta(seconds=61) < cutoff <= timezone.now() - timedelta(seconds=60)
    # The framework wrote nothing: the kind's hook is the only writer.
    for row in (lost, beat_meanwhile, alive, never_beat):
        row_now = TemplateSource.objects.get(pk=row.pk)
        assert row_now.status == JobStatus.RUNNING and row_now.error == ""


def test_timeout_and_grace_may_be_read_when_used(settings: Any, sent: list[Any]) -> None:
    settings.IDP_JOB_HEARTBEAT_TIMEOUT = 77
    settings.IDP_JOB_SWEEP_GRACE_SECONDS = 3600
    default = JobKind(name="test.default", task=TASK, model=TemplateSource)
    assert default.heartbeat_timeout() == 77 and default.sweep_grace() == 3600
    limits = {"timeout": 5, "grace": 0}
    kind = JobKind(
        name="test.read",
        task=TASK,
        model=TemplateSource,
        timeout=lambda: limits["timeout"],
        grace=lambda: limits["grace"],
    )
    assert kind.heartbeat_timeout() == 5 and kind.sweep_grace() == 0
    limits["timeout"] = 9
    assert kind.heartbeat_timeout() == 9
    assert JobKind(name="test.fixed", task=TASK, timeout=12).heartbeat_timeout() == 12

    queued = source(JobStatus.QUEUED, queued_at=timezone.now())
    assert sweep_queued(default) == 0  # an hour's grace: too young to be stuck
    assert sweep_queued(kind) == 1 and sent[-1] == ((queued.pk,), {})
