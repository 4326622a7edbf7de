"""A deployment's log: lines stored as chunks while the worker deploys, read a page at a
time (`idp.logchunks`, the same paging as a Terraform run's log)."""

from __future__ import annotations

from django.db.models import Max
from django.utils import timezone

from idp.logchunks import read_page
from provisioning.engine.dbretry import retry_locked

from ..choices import DEPLOYMENT_ACTIVE
from ..models import Deployment, DeploymentLogChunk

LOG_PAGE = 64 * 1024
MAX_LINE_CHARS = 4000


class DeploymentLog:
    """Appends lines to a deployment's log; each line is stored at once (a deployment writes
    a few dozen lines, each after a call to AWS), so the portal shows it as it happens."""

    def __init__(self, deployment_id: int) -> None:
        self.deployment_id = deployment_id
        last = DeploymentLogChunk.objects.filter(deployment_id=deployment_id).aggregate(
            m=Max("seq")
        )["m"]
        self.seq = 0 if last is None else last + 1
        self.offset = (
            Deployment.objects.filter(pk=deployment_id).values_list("log_size", flat=True).first()
            or 0
        )

    def write(self, text: str) -> None:
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + " … [line shortened]"
        line = f"{timezone.now():%H:%M:%S} {text}\n"
        self._store(line)
        self.seq += 1
        self.offset += len(line)
        self._sized()

    # Each step on its own is safe to run again (SQLite's "database is locked").
    @retry_locked
    def _store(self, line: str) -> None:
        DeploymentLogChunk.objects.create(
            deployment_id=self.deployment_id, seq=self.seq, offset=self.offset, text=line
        )

    @retry_locked
    def _sized(self) -> None:
        Deployment.objects.filter(pk=self.deployment_id).update(log_size=self.offset)


def read_log(
    deployment: Deployment, offset: int = 0, limit: int = LOG_PAGE
) -> tuple[str, int, bool]:
    """A page of the deployment's log from a character offset: (text, next_offset, complete)."""
    offset = max(0, int(offset or 0))
    limit = max(1, min(int(limit or LOG_PAGE), 1024 * 1024))
    text, next_offset = read_page(
        DeploymentLogChunk.objects.filter(deployment=deployment), offset, limit
    )
    row = Deployment.objects.filter(pk=deployment.pk).values_list("status", "log_size").first()
    complete = bool(row and row[0] not in DEPLOYMENT_ACTIVE and next_offset >= row[1])
    return text, next_offset, complete
