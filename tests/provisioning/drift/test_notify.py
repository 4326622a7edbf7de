"""A new drift is told to the owning team once (e-mail and webhook), not at every check; a
changed drift is news again, and so is a drift that comes back after it was fixed."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from idp.choices import Role
from idp.models import AuditEvent
from provisioning.choices import ResourceStatus

from ..engine.conftest import request_module
from .conftest import change_behind_the_back, check_drift

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.django_db
def test_drift_is_told_once_per_new_drift(
    alice,
    bob,
    make_user,
    teams,
    envs,
    echo,
    state,
    drive,
    webhook,
    client_as,
    django_capture_on_commit_callbacks,
) -> None:
    make_user("vera", team=teams["payments"], role=Role.VIEWER)
    resource = request_module(alice, teams["payments"], message="as requested")
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED
    assert "in sync" in check_drift(resource, django_capture_on_commit_callbacks)
    assert not resource.drifted and resource.drift_digest == ""
    mail.outbox.clear()

    change_behind_the_back(state, resource, "changed by hand")
    out = check_drift(resource, django_capture_on_commit_callbacks)
    assert "DRIFTED" in out
    assert resource.drifted and resource.drift_digest and resource.drift_notified_at
    # What the page, the API and the CLI show: expected → actual, per output and attribute.
    assert resource.drift_details["changes"] == [
        {
            "kind": "output",
            "address": "output.echo",
            "attribute": "",
            "expected": "as requested",
            "actual": "changed by hand",
            "sensitive": False,
        }
    ]
    # The team members who may act hear of it (not the viewer); names, never values.
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
    message = mail.outbox[0]
    assert message.subject == "[IDP] Drift found: payments/dev/cfg"
    assert "output echo differs" in message.body
    assert f"idp resources reconcile|accept-drift {resource.pk}" in message.body
    assert "changed by hand" not in message.body
    assert len(webhook) == 1 and "Drift found" in webhook[0]["text"]
    first_digest = resource.drift_digest

    # The same drift at the next check: recorded, not told again.
    mail.outbox.clear()
    check_drift(resource, django_capture_on_commit_callbacks)
    assert resource.drifted and resource.drift_digest == first_digest
    assert mail.outbox == [] and len(webhook) == 1
    detected = AuditEvent.objects.filter(action="resource.drift_detected").order_by("pk")
    assert [e.details["new"] for e in detected] == [True, False]

    # A different drift is news.
    change_behind_the_back(state, resource, "changed again")
    check_drift(resource, django_capture_on_commit_callbacks)
    assert resource.drift_digest != first_digest
    assert len(mail.outbox) == 2 and len(webhook) == 2
    assert resource.drift_details["changes"][0]["actual"] == "changed again"

    # Someone puts it back by hand: in sync, the fingerprint forgotten, so the same drift
    # coming back later is news once more.
    change_behind_the_back(state, resource, "as requested")
    assert "in sync" in check_drift(resource, django_capture_on_commit_callbacks)
    assert not resource.drifted and resource.drift_digest == "" and not resource.drift_details
    mail.outbox.clear()
    change_behind_the_back(state, resource, "changed again")
    check_drift(resource, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2 and len(webhook) == 3

    # bob turns drift e-mails off on his profile page: the next drift reaches alice only.
    page = client_as(bob).post(
        reverse("notification_preferences"), {"plans_to_decide": "on", "my_requests": "on"}
    )
    assert page.status_code == 302
    mail.outbox.clear()
    change_behind_the_back(state, resource, "changed a third time")
    check_drift(resource, django_capture_on_commit_callbacks)
    assert [m.to[0] for m in mail.outbox] == ["alice@example.com"]
