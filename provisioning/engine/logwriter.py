"""A run's log, streamed to storage in small batches while Terraform works; each flush is
also a heartbeat.

Memory stays bounded whatever Terraform prints: lines are stored at most twice a second or
whenever 200 lines or 256 KiB are waiting, a single line is shortened past 64 KiB, and a
run's stored log stops at IDP_RUN_LOG_MAX_BYTES with a line saying so (the run goes on).
"""

from __future__ import annotations

import time

from django.db.models import Max
from django.utils import timezone

from idp.conf import setting

from ..choices import RunStatus
from ..models import Run, RunLogChunk
from .dbretry import retry_locked
from .redact import Redactor

MAX_LINE_CHARS = 64 * 1024
MAX_BUFFER_CHARS = 256 * 1024


def truncated_line(limit: int) -> str:
    return (
        f"… log truncated: this run's log reached {limit} bytes (IDP_RUN_LOG_MAX_BYTES); "
        "later lines are not stored. The run goes on."
    )


class LogWriter:
    """Buffers redacted lines and stores them as RunLogChunk rows at most twice a second."""

    def __init__(
        self,
        run_id: int,
        redactor: Redactor,
        *,
        every: float = 0.5,
        max_lines: int = 200,
        max_bytes: int | None = None,
    ) -> None:
        self.run_id = run_id
        self.redact = redactor
        self.every = every
        self.max_lines = max_lines
        self.max_bytes = setting("IDP_RUN_LOG_MAX_BYTES") if max_bytes is None else max_bytes
        self.buffer: list[str] = []
        self.buffered_chars = 0
        last = RunLogChunk.objects.filter(run_id=run_id).aggregate(m=Max("seq"))["m"]
        self.seq = 0 if last is None else last + 1
        self.offset = Run.objects.filter(pk=run_id).values_list("log_size", flat=True).first() or 0
        # Bytes stored so far (a log resumed by a second writer counts its characters).
        self.stored_bytes = self.offset
        self.truncated = False
        self.last_flush = time.monotonic()
        self.last_check = 0.0
        self.stop_requested = False

    def write(self, text: str, *, final: bool = False) -> None:
        """Add a line. Past the cap lines are dropped, except `final` ones (why the run
        ended), which are always kept."""
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + " … [line shortened]"
        line = self.redact(text) + "\n"
        size = len(line.encode("utf-8", "replace"))
        if not final:
            if self.truncated:
                return
            if self.stored_bytes + size > self.max_bytes:
                self.truncated = True
                line = truncated_line(self.max_bytes) + "\n"
                size = len(line.encode())
        self._add(line, size)
        if len(self.buffer) >= self.max_lines or self.buffered_chars >= MAX_BUFFER_CHARS:
            self.flush()

    def _add(self, line: str, size: int) -> None:
        self.buffer.append(line)
        self.buffered_chars += len(line)
        self.stored_bytes += size

    @retry_locked
    def flush(self) -> None:
        """Store buffered lines and beat the heartbeat (only while the run is still running)."""
        now = timezone.now()
        if self.buffer:
            text = "".join(self.buffer)
            RunLogChunk.objects.create(
                run_id=self.run_id, seq=self.seq, offset=self.offset, text=text
            )
            # Only once stored: a failed write keeps the lines for the next attempt.
            self.buffer = []
            self.buffered_chars = 0
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
