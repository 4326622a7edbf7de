"""What a drift check shows, from a recorded refresh-only plan: objects changed behind the
platform's back (as recorded → as found), outputs whose real value differs from the record,
sensitive values masked, and a fingerprint that changes with any value."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.sensitivity import MASK
from provisioning.actions.drift import GONE, found_drift
from provisioning.crypto import encrypt_json
from provisioning.engine.redact import Redactor
from provisioning.models import Resource
from provisioning.plan_summary import summarize_plan


def refreshed(tags_after: dict[str, str], password_after: str) -> dict[str, Any]:
    """A `show -json` refresh-only plan: a bucket whose tags and password were changed."""
    return {
        "resource_drift": [
            {
                "address": "aws_s3_bucket.this",
                "change": {
                    "actions": ["update"],
                    "before": {
                        "bucket": "b",
                        "tags": {"team": "payments", "env": "dev"},
                        "password": "hunter2-secret",
                    },
                    "after": {"bucket": "b", "tags": tags_after, "password": password_after},
                    "before_sensitive": {"password": True},
                    "after_sensitive": {"password": True},
                },
            },
            {
                "address": "aws_sqs_queue.gone",
                "change": {"actions": ["delete"], "before": {"name": "q"}, "after": None},
            },
        ],
        "planned_values": {
            "outputs": {
                "bucket": {"sensitive": False, "value": "b"},
                "token": {"sensitive": True, "value": "tok-new-secret"},
            }
        },
    }


def recorded() -> Resource:
    """An unsaved resource: found_drift reads only its record of outputs."""
    return Resource(
        outputs={"bucket": "b"},
        sensitive_outputs=encrypt_json({"token": "tok-old-secret"}),
        sensitive_output_names=["token"],
    )


@pytest.mark.django_db
def test_expected_and_actual_with_secrets_masked() -> None:
    plan = refreshed({"team": "payments", "env": "prod"}, "changed-secret")
    found = found_drift(recorded(), plan, summarize_plan(plan), Redactor())
    assert found.drifted and len(found.digest) == 64
    assert found.outputs == ["token"]
    rows = [(c["address"], c["attribute"], c["expected"], c["actual"]) for c in found.changes]
    assert rows == [
        ("aws_s3_bucket.this", "password", MASK, MASK),
        ("aws_s3_bucket.this", "tags.env", "dev", "prod"),
        ("aws_sqs_queue.gone", "", "(exists)", GONE),
        ("output.token", "", MASK, MASK),
    ]
    assert [c["sensitive"] for c in found.changes] == [True, False, False, True]
    text = repr(found.changes) + repr(found.resources)
    assert "secret" not in text and "hunter2" not in text

    # Only a secret changed differently: the rows read the same, the fingerprint does not.
    other = refreshed({"team": "payments", "env": "prod"}, "another-secret")
    again = found_drift(recorded(), other, summarize_plan(other), Redactor())
    assert again.changes == found.changes and again.digest != found.digest


@pytest.mark.django_db
def test_no_drift_no_fingerprint() -> None:
    plan = {"planned_values": {"outputs": {"bucket": {"value": "b"}}}}
    record = Resource(outputs={"bucket": "b"})
    found = found_drift(record, plan, summarize_plan(plan), Redactor())
    assert not found.drifted and found.digest == "" and found.changes == []
