"""A run's log streams to storage in bounded batches and stops at IDP_RUN_LOG_MAX_BYTES with
a line saying so; the run itself goes on and succeeds."""

from __future__ import annotations

from typing import Any

import pytest

from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.engine import logwriter
from provisioning.models import RunLogChunk

from .engine_procs import Stack, drive, log_of

# The recovery database, broker, moto server and processes (the `stack` fixture).
pytest_plugins = ["tests.recovery.engine_procs"]

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(240)]

CAP = 64 * 1024


def test_a_chatty_apply_is_stored_in_batches_up_to_the_cap(stack: Stack, monkeypatch: Any) -> None:
    stack.settings.IDP_RUN_LOG_MAX_BYTES = CAP
    team, user = stack.member()
    most_buffered = [0]
    flush = logwriter.LogWriter.flush

    def measured(self: logwriter.LogWriter) -> None:
        most_buffered[0] = max(most_buffered[0], len(self.buffer))
        flush(self)

    monkeypatch.setattr(logwriter.LogWriter, "flush", measured)
    resource = stack.request(user, team, "tf_chatty", {"lines": 20000})
    plan, apply = drive(resource)
    assert plan.status == apply.status == RunStatus.SUCCEEDED, apply.error
    assert resource.status == ResourceStatus.PROVISIONED and resource.outputs["lines"] == 20000
    assert apply.kind == RunKind.APPLY

    text = log_of(apply)
    size = len(text.encode())
    assert CAP - 2000 < size <= CAP + 1000, size
    assert "chatty line 000001 of the provisioner output" in text
    assert "chatty line 020000" not in text
    assert text.rstrip("\n").endswith(logwriter.truncated_line(CAP)), text[-500:]
    assert apply.log_size == len(text)
    # Written while Terraform worked, a batch at a time, never all at the end.
    chunks = RunLogChunk.objects.filter(run=apply).count()
    assert chunks >= 3 and most_buffered[0] <= 200, (chunks, most_buffered)
