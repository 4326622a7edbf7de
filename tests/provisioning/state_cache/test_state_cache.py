"""The state cache: a summary read is one HeadObject while the state is unchanged, a state
changed in any way (behind the platform's back too) is downloaded again and never answered
from the cache, and the platform's own writes (push, restore) refresh or drop the entry.
Real S3 API (moto over HTTP), real PostgreSQL; S3 calls counted as they are sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from provisioning.choices import RunKind
from provisioning.crypto import decrypt_json, encrypt_bytes
from provisioning.engine import pending_state, state_cache
from provisioning.engine.backend import (
    backup_states,
    new_generation_prefix,
    restore_state,
    state_bucket,
    state_key,
    write_state,
)
from provisioning.engine.runner import RunTask
from provisioning.models import Run, StateSummary
from provisioning.workflow import StateVersion

from .conftest import state_doc, summary_of

pytestmark = [pytest.mark.django_db]


def test_an_unchanged_state_is_read_with_one_head_object(resource, put_state, s3_calls) -> None:
    put_state(resource, 7, echo="first")

    first = state_cache.read(resource)
    assert s3_calls.sent == ["HeadObject", "GetObject"]  # never read: downloaded
    assert first is not None and not first.cached

    s3_calls.clear()
    again = summary_of(resource)
    assert s3_calls.sent == ["HeadObject"]  # no GetObject: the cache answered
    assert again is not None and again.cached
    assert (again.serial, again.lineage) == (7, "lin-1")
    assert again.version == StateVersion(7, "lin-1") == state_cache.version(resource)
    assert again.addresses == (
        "terraform_data.echo[0]",
        "module.net.data.aws_vpc.main",
    )
    assert again.outputs == {"echo": "first"}
    assert again.sensitive_output_names == ("token",)
    assert again.output("token") == "tok-secret-1"
    assert again.sensitive_outputs() == {"token": "tok-secret-1"}


def test_the_cache_holds_no_state_and_no_clear_secret(resource, put_state, bucket) -> None:
    put_state(resource, 3, token="tok-very-secret")
    state_cache.read(resource)

    stored = repr(StateSummary.objects.filter(resource=resource).values().get())  # every column
    assert "tok-very-secret" not in stored  # encrypted (Fernet), never in clear
    assert '"attributes"' not in stored and "vpc-1" not in stored  # no resource attributes
    row = StateSummary.objects.get(resource=resource)
    assert row.outputs == {"echo": "hello"} and row.sensitive_output_names == ["token"]
    assert decrypt_json(row.sensitive_outputs) == {"token": "tok-very-secret"}


def test_a_state_changed_behind_the_platforms_back_is_never_served_stale(
    resource, put_state, s3_calls
) -> None:
    put_state(resource, 7, echo="old")
    state_cache.read(resource)
    assert summary_of(resource).cached

    # Someone runs Terraform against the backend by hand: a newer state.
    put_state(resource, 8, echo="new", instances=2)
    s3_calls.clear()
    now = summary_of(resource)
    assert s3_calls.sent == ["HeadObject", "GetObject"]
    assert now is not None and not now.cached
    assert (now.serial, now.outputs["echo"]) == (8, "new")
    assert len(now.addresses) == 3
    # ... and the refreshed entry serves the next read.
    s3_calls.clear()
    assert summary_of(resource).serial == 8 and s3_calls.sent == ["HeadObject"]

    # Even a rewrite with the same serial (a forced push of other content) is seen.
    put_state(resource, 8, echo="rewritten")
    assert summary_of(resource).outputs["echo"] == "rewritten"
    # And another lineage (the state replaced by another one).
    put_state(resource, 1, lineage="lin-2", echo="other")
    assert state_cache.version(resource) == StateVersion(1, "lin-2")


def test_a_deleted_state_is_no_state_and_drops_the_entry(
    resource, put_state, behind_the_back, s3_calls
) -> None:
    put_state(resource, 4)
    state_cache.read(resource)
    behind_the_back.delete_object(Bucket=state_bucket(), Key=state_key(resource))

    s3_calls.clear()
    assert state_cache.read(resource) is None
    assert state_cache.version(resource) == StateVersion(0, "")
    assert s3_calls.sent == ["HeadObject", "HeadObject"]
    assert not StateSummary.objects.filter(resource=resource).exists()


def test_an_empty_state_counts_as_no_state(resource, put_state, behind_the_back) -> None:
    # Terraform writes an empty state as a first apply starts (StateVersion.of_document).
    doc = {**state_doc(1), "resources": [], "outputs": {}}
    behind_the_back.put_object(
        Bucket=state_bucket(), Key=state_key(resource), Body=json.dumps(doc).encode()
    )
    assert state_cache.version(resource) == StateVersion(0, "")
    assert summary_of(resource).cached
    assert state_cache.version(resource) == StateVersion(0, "")


def test_a_plan_start_records_the_state_version_from_the_cache(
    resource, put_state, s3_calls
) -> None:
    put_state(resource, 12)
    state_cache.read(resource)
    run = Run.objects.create(
        resource=resource, kind=RunKind.PLAN, template_version=resource.template_version
    )
    s3_calls.clear()

    RunTask(run.pk).record_state_version(run, resource)

    assert s3_calls.sent == ["HeadObject"]
    run.refresh_from_db()
    assert (run.state_serial, run.state_lineage) == (12, "lin-1")


def test_a_state_push_refreshes_the_cache(resource, put_state, s3_calls) -> None:
    put_state(resource, 5, echo="before")
    assert summary_of(resource).serial == 5
    pushed = state_doc(6, echo="pushed")
    run = Run.objects.create(
        resource=resource,
        kind=RunKind.APPLY,
        template_version=resource.template_version,
        pending_state=encrypt_bytes(json.dumps(pushed).encode()),
    )

    pending_state.push(run.pk)

    row = StateSummary.objects.get(resource=resource)
    assert (row.serial, row.outputs) == (6, {"echo": "pushed"})
    s3_calls.clear()
    summary = summary_of(resource)
    assert summary.cached and summary.serial == 6 and s3_calls.sent == ["HeadObject"]


def test_any_state_the_platform_writes_drops_the_entry(resource, put_state) -> None:
    put_state(resource, 5)
    state_cache.read(resource)
    assert write_state(resource, json.dumps(state_doc(6)).encode()) == "pushed"
    assert not StateSummary.objects.filter(resource=resource).exists()
    assert summary_of(resource).serial == 6


def test_a_restore_invalidates_the_cache(resource, put_state, settings, s3_calls) -> None:
    from django.utils import timezone

    settings.IDP_STATE_BACKUP_BUCKET = ""  # backups in the state bucket
    put_state(resource, 3, echo="backed-up")
    backup_states(None, new_generation_prefix(timezone.now()))
    put_state(resource, 9, echo="later")
    assert summary_of(resource).outputs["echo"] == "later"
    assert StateSummary.objects.filter(resource=resource).exists()

    done = restore_state(resource)

    assert not StateSummary.objects.filter(resource=resource).exists()
    s3_calls.clear()
    now = summary_of(resource)
    assert s3_calls.sent == ["HeadObject", "GetObject"]
    assert now.outputs["echo"] == "backed-up" and now.serial == done["serial"] == 10


def test_the_restore_command_invalidates_the_cache(resource, put_state, settings) -> None:
    import io

    from django.core.management import call_command
    from django.utils import timezone

    settings.IDP_STATE_BACKUP_BUCKET = ""
    put_state(resource, 2, echo="kept")
    backup_states(None, new_generation_prefix(timezone.now()))
    put_state(resource, 4, echo="lost")
    assert summary_of(resource).outputs["echo"] == "lost"

    call_command("restore_state", str(resource.pk), stdout=io.StringIO())

    assert not StateSummary.objects.filter(resource=resource).exists()
    assert summary_of(resource).outputs["echo"] == "kept"


def test_a_summary_that_cannot_be_stored_costs_only_a_download(
    resource, put_state, s3_calls, monkeypatch: Any
) -> None:
    from django.db import DatabaseError

    put_state(resource, 3)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise DatabaseError("the database blinked")

    monkeypatch.setattr(StateSummary.objects, "bulk_create", broken)
    assert summary_of(resource).serial == 3
    assert summary_of(resource).serial == 3
    assert s3_calls.sent == ["HeadObject", "GetObject"] * 2


def test_an_unversioned_bucket_is_checked_by_etag_and_size(
    resource, put_state, behind_the_back, s3_calls
) -> None:
    # An organisation's own bucket without versioning: no version id to compare.
    behind_the_back.put_bucket_versioning(
        Bucket=state_bucket(), VersioningConfiguration={"Status": "Suspended"}
    )
    put_state(resource, 8, echo="aaaa")
    assert summary_of(resource).outputs["echo"] == "aaaa"
    assert summary_of(resource).cached

    put_state(resource, 8, echo="bbbb")  # same serial, same size, other content
    s3_calls.clear()
    assert summary_of(resource).outputs["echo"] == "bbbb"
    assert s3_calls.sent == ["HeadObject", "GetObject"]


def test_sensitive_values_that_no_longer_decrypt_are_read_again(
    resource, put_state, settings, s3_calls
) -> None:
    put_state(resource, 3, token="tok-1")
    state_cache.read(resource)
    settings.IDP_ENCRYPTION_KEY = "another-key-" + "x" * 40  # the key was rotated

    s3_calls.clear()
    assert summary_of(resource).output("token") == "tok-1"
    assert s3_calls.sent == ["HeadObject", "GetObject"]
    assert summary_of(resource).cached  # stored again under the new key
