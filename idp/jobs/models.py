"""The row of a background job: its status in named groups, heartbeat, attempts and the
request that came while it ran. Every job kind's model takes these fields (abstract)."""

from __future__ import annotations

from django.db import models


class JobStatus(models.TextChoices):
    IDLE = "idle", "Idle"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# A request made now joins the queued job, or is recorded on the running one (runs next).
JOB_ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})
# Ended (or never asked for): a request queues the job anew.
JOB_RESTING = frozenset(
    {JobStatus.IDLE, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}
)
JOB_TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class JobRow(models.Model):
    """The database row is the truth of a job; a Celery message is only a nudge.

    `queued` rows are sent to a worker on commit and re-sent by the sweeper; a worker claims
    one (compare-and-set to `running`, `attempts` + 1) and beats `heartbeat_at` while it
    works in `workdir`; the reaper takes back a `running` row whose heartbeat stopped.
    `requested_again` records a request that came while the job ran: it runs next.
    A model whose own words differ may override `status` (a superset of these choices).
    """

    status = models.CharField(
        max_length=20, choices=JobStatus.choices, default=JobStatus.IDLE, db_index=True
    )
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was queued (a retry: when it is due)"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the worker")
    attempts = models.PositiveIntegerField(
        default=0, help_text="Claims by a worker since it was requested"
    )
    requested_again = models.BooleanField(
        default=False, help_text="Asked for again while it ran: it runs once more"
    )
    workdir = models.CharField(max_length=500, blank=True, help_text="Its temporary folder")
    error = models.TextField(blank=True)

    class Meta:
        abstract = True
