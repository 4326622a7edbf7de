"""A run's log, written in batches while Terraform works; each flush is also a heartbeat."""

from __future__ import annotations

import time

from django.db.models import Max
from django.utils import timezone

from ..choices import RunStatus
from ..models import Run, RunLogChunk
from .dbretry import retry_locked
from .redact import Redactor


class LogWriter:
    """Buffers redacted lines and stores them as RunLogChunk rows at most twice a second."""

    def __init__(
        self, run_id: int, redactor: Redactor, *, every: float = 0.5, max_lines: int = 200
    ) -> None:
        self.run_id = run_id
        self.redact = redactor
        self.every = every
        self.max_lines = max_lines
        self.buffer: list[str] = []
        last = RunLogChunk.objects.filter(run_id=run_id).aggregate(m=Max("seq"))["m"]
        self.seq = 0 if last is None else last + 1
        self.offset = Run.objects.filter(pk=run_id).values_list("log_size", flat=True).first() or 0
        self.last_flush = time.monotonic()
        self.last_check = 0.0
        self.stop_requested = False

    def write(self, text: str) -> None:
        self.buffer.append(self.redact(text) + "\n")
        if len(self.buffer) >= self.max_lines:
            self.flush()

    @retry_locked
    def flush(self) -> None:
        """Store buffered lines and beat the heartbeat (only while the run is still running)."""
        now = timezone.now()
        if self.buffer:
            text = "".join(self.buffer)
            RunLogChunk.objects.create(
                run_id=self.run_id, seq=self.seq, offset=self.offset, text=text
            )
            self.buffer = []  # only once stored: a failed write keeps the lines for the next
            self.seq += 1
            self.offset += len(text)
        updated = Run.objects.filter(pk=self.run_id, status=RunStatus.RUNNING).update(
            log_size=self.offset, heartbeat_at=now
        )
        if not updated:  # the last lines after the final status: size only, no heartbeat
            Run.objects.filter(pk=self.run_id).update(log_size=self.offset)
        self.last_flush = time.monotonic()

    @retry_locked
    def tick(self) -> bool:
        """Flush when due; True when the run should stop (cancel asked, or no longer running)."""
        now = time.monotonic()
        if now - self.last_flush >= self.every or len(self.buffer) >= self.max_lines:
            self.flush()
        if now - self.last_check >= 1.0:
            self.last_check = now
            row = (
                Run.objects.filter(pk=self.run_id).values_list("cancel_requested", "status").first()
            )
            self.stop_requested = row is None or bool(row[0]) or row[1] != RunStatus.RUNNING
        return self.stop_requested
