"""A cache of each resource's Terraform state summary: what the platform reads from a
state (its serial and lineage, its resource addresses, its outputs and which of them are
sensitive) without downloading it again while it has not changed.

A read is one HeadObject: when the object's ETag, version id and size are those the stored
summary (`models.StateSummary`) was read from, the summary is served; otherwise (the state
changed, appeared, or was never read) it is downloaded once, summarised, and the summary
stored for the next read. The state bucket is versioned (`ensure_state_bucket`): every
write, by Terraform, the platform or anyone behind its back, makes a new version id, so a
changed state is never answered from the cache. The platform's own writes (an apply, a
state push, a restore) also refresh or drop the entry at once (`refresh`, `forget`).

Never the state itself: a summary holds no resource attributes, and sensitive output
values only encrypted (`crypto.encrypt_json`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from .. import workflow
from ..crypto import decrypt_json, encrypt_json
from ..models import Resource, StateSummary
from ..sensitivity import split_outputs
from .backend import platform_client, state_bucket, state_key

log = logging.getLogger(__name__)

MISSING = ("NoSuchKey", "404", "NotFound")


@dataclass(frozen=True)
class Summary:
    """One state's summary, and whether it came from the cache (no download)."""

    serial: int
    lineage: str
    resource_count: int
    addresses: tuple[str, ...]
    outputs: dict[str, Any]  # non-sensitive values
    sensitive_output_names: tuple[str, ...]
    etag: str
    version_id: str
    size: int
    cached: bool = False
    encrypted_outputs: str = field(default="", repr=False)  # sensitive values, encrypted

    @property
    def version(self) -> workflow.StateVersion:
        """As `StateVersion.of_document` reads it: a state holding nothing is no state."""
        if not self.resource_count:
            return workflow.StateVersion(0, "")
        return workflow.StateVersion(self.serial, self.lineage)

    def sensitive_outputs(self) -> dict[str, Any]:
        """The sensitive outputs' values, decrypted (only for who needs them)."""
        return decrypt_json(self.encrypted_outputs)

    def terraform_outputs(self) -> dict[str, dict[str, Any]]:
        """The outputs as `terraform output -json` gives them (value and sensitivity)."""
        return {
            **{name: {"value": value, "sensitive": False} for name, value in self.outputs.items()},
            **{
                name: {"value": value, "sensitive": True}
                for name, value in self.sensitive_outputs().items()
            },
        }

    def output(self, name: str) -> Any:
        if name in self.outputs:
            return self.outputs[name]
        return self.sensitive_outputs().get(name)


def _address(item: dict[str, Any], instance: dict[str, Any]) -> str:
    parts = [str(item["module"])] if item.get("module") else []
    parts.append(("data." if item.get("mode") == "data" else "") + f"{item.get('type')}")
    address = ".".join([*parts, str(item.get("name"))])
    if "index_key" in instance:
        key = instance["index_key"]
        address += f"[{key}]" if isinstance(key, int) else f"[{json.dumps(key)}]"
    return address


def summarise(
    data: bytes, resource: Resource, *, etag: str = "", version_id: str = "", cached: bool = False
) -> Summary:
    """The summary of a state document (sensitive outputs as the resource knows them too)."""
    doc = json.loads(data) if data else {}
    items = [r for r in doc.get("resources") or [] if isinstance(r, dict)]
    addresses = tuple(
        _address(item, instance)
        for item in items
        for instance in item.get("instances") or [{}]
        if isinstance(instance, dict)
    )
    raw_outputs = {k: v for k, v in (doc.get("outputs") or {}).items() if isinstance(v, dict)}
    plain, secret = split_outputs(raw_outputs, resource)
    return Summary(
        serial=int(doc.get("serial") or 0),
        lineage=str(doc.get("lineage") or ""),
        resource_count=len(doc.get("resources") or []),
        addresses=addresses,
        outputs=plain,
        sensitive_output_names=tuple(sorted(secret)),
        etag=etag,
        version_id=version_id,
        size=len(data),
        cached=cached,
        encrypted_outputs=encrypt_json(secret),
    )


def _from_row(row: StateSummary) -> Summary:
    return Summary(
        serial=row.serial,
        lineage=row.lineage,
        resource_count=row.resource_count,
        addresses=tuple(row.addresses or ()),
        outputs=dict(row.outputs or {}),
        sensitive_output_names=tuple(row.sensitive_output_names or ()),
        etag=row.etag,
        version_id=row.version_id,
        size=row.size,
        cached=True,
        encrypted_outputs=row.sensitive_outputs,
    )


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in MISSING


def _store(resource: Resource, key: str, summary: Summary) -> None:
    """Keep the summary (one upsert); a failure only costs the next read a download."""
    row = StateSummary(
        resource_id=resource.pk,
        key=key,
        etag=summary.etag[:200],
        version_id=summary.version_id[:1024],
        serial=summary.serial,
        lineage=summary.lineage[:64],
        resource_count=summary.resource_count,
        addresses=list(summary.addresses),
        outputs=summary.outputs,
        sensitive_outputs=summary.encrypted_outputs,
        sensitive_output_names=list(summary.sensitive_output_names),
        size=summary.size,
        read_at=timezone.now(),
    )
    fields = [f.name for f in StateSummary._meta.concrete_fields if not f.primary_key]
    try:
        with transaction.atomic():  # a savepoint inside a caller's transaction
            StateSummary.objects.bulk_create(
                [row], update_conflicts=True, unique_fields=["resource"], update_fields=fields
            )
    except DatabaseError as exc:
        log.warning("state summary of resource %s not cached: %s", resource.pk, exc)


def forget(resource: Resource) -> None:
    """Drop the resource's cached summary (its state was replaced or removed)."""
    StateSummary.objects.filter(resource_id=resource.pk).delete()


def _download(resource: Resource, *, store: bool) -> Summary | None:
    key = state_key(resource)
    try:
        got = platform_client("s3").get_object(Bucket=state_bucket(), Key=key)
    except ClientError as exc:
        if _missing(exc):
            if store:
                forget(resource)
            return None
        raise
    data = bytes(got["Body"].read())
    # The identity of what was downloaded (not of a HeadObject before it: the state may
    # have moved in between).
    summary = summarise(
        data, resource, etag=str(got.get("ETag") or ""), version_id=str(got.get("VersionId") or "")
    )
    if store:
        _store(resource, key, summary)
    return summary


def refresh(resource: Resource) -> Summary | None:
    """Download the state and store its summary (after the platform wrote it)."""
    return _download(resource, store=True)


def uncached(resource: Resource) -> Summary | None:
    """The summary from a download, the cache neither read nor written."""
    return _download(resource, store=False)


def _head(resource: Resource) -> tuple[str, dict[str, Any] | None]:
    """The state object's key and metadata (one HeadObject), None when there is none."""
    key = state_key(resource)
    try:
        return key, platform_client("s3").head_object(Bucket=state_bucket(), Key=key)
    except ClientError as exc:
        if _missing(exc):
            forget(resource)
            return key, None
        raise


def _entry(resource: Resource, key: str, head: dict[str, Any]) -> QuerySet[StateSummary]:
    """The cached summary when it was read from exactly this object, else nothing."""
    return StateSummary.objects.filter(
        resource_id=resource.pk,
        key=key,
        etag=str(head.get("ETag") or "-"),
        version_id=str(head.get("VersionId") or ""),
        size=int(head.get("ContentLength") or 0),
    )


def read(resource: Resource) -> Summary | None:
    """The resource's state summary, None when it has no state. One HeadObject; the
    download only when the state is not the one the cached summary was read from."""
    key, head = _head(resource)
    if head is None:
        return None
    row = _entry(resource, key, head).first()
    # Sensitive values that no longer decrypt (the key was changed): read them again.
    if row is not None and (not row.sensitive_output_names or decrypt_json(row.sensitive_outputs)):
        return _from_row(row)
    return _download(resource, store=True)


def version(resource: Resource) -> workflow.StateVersion:
    """The state's serial and lineage (serial 0, no lineage: no state, or an empty one),
    as `read` finds them (the cached row's three columns only)."""
    key, head = _head(resource)
    if head is None:
        return workflow.StateVersion(0, "")
    row = _entry(resource, key, head).values_list("serial", "lineage", "resource_count").first()
    if row is not None:
        serial, lineage, count = row
        return workflow.StateVersion(serial, lineage) if count else workflow.StateVersion(0, "")
    summary = _download(resource, store=True)
    return summary.version if summary is not None else workflow.StateVersion(0, "")
