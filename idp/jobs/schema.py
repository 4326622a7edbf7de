"""The JobRow fields as migration operations, for the migration that gives a model them.

Frozen as written: a later change to JobRow gets a new function here (and a new migration
per model), so migrations already applied keep meaning what they meant."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

JOB_STATUS_2026 = [
    ("idle", "Idle"),
    ("queued", "Queued"),
    ("running", "Running"),
    ("succeeded", "Succeeded"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]


def add_job_fields_2026(model: str, *, skip: tuple[str, ...] = ()) -> list[migrations.AddField]:
    """AddField of each JobRow field (as of its first version) but those in `skip`."""
    fields: dict[str, models.Field[Any, Any]] = {
        "status": models.CharField(
            choices=JOB_STATUS_2026, db_index=True, default="idle", max_length=20
        ),
        "queued_at": models.DateTimeField(
            blank=True, help_text="When it was queued (a retry: when it is due)", null=True
        ),
        "started_at": models.DateTimeField(blank=True, null=True),
        "finished_at": models.DateTimeField(blank=True, null=True),
        "heartbeat_at": models.DateTimeField(blank=True, null=True),
        "worker": models.CharField(blank=True, help_text="host:pid of the worker", max_length=200),
        "attempts": models.PositiveIntegerField(
            default=0, help_text="Claims by a worker since it was requested"
        ),
        "requested_again": models.BooleanField(
            default=False, help_text="Asked for again while it ran: it runs once more"
        ),
        "workdir": models.CharField(blank=True, help_text="Its temporary folder", max_length=500),
        "error": models.TextField(blank=True),
    }
    return [
        migrations.AddField(model_name=model, name=name, field=field)
        for name, field in fields.items()
        if name not in skip
    ]
