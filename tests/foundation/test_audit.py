"""The audit log: what is written, by whom and from where; append-only; who may read it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from idp import audit, services
from idp.choices import Role
from idp.models import AuditEvent
from tests.utils import assert_ok

from .conftest import ROLES


def _event(action: str) -> AuditEvent:
    events = list(AuditEvent.objects.filter(action=action))
    assert len(events) == 1, [str(e) for e in AuditEvent.objects.all()]
    return events[0]


def test_team_and_membership_changes_through_the_api_are_audited(platform_admin, api_as, make_user):
    make_user("zed")  # adding a member adds an existing user
    api = api_as(platform_admin)
    headers = {"HTTP_X_REQUEST_ID": "req0001", "REMOTE_ADDR": "10.1.2.3"}

    created = api.post("/api/v1/teams/", {"slug": "ledger", "name": "Ledger"}, **headers)
    assert_ok(created, 201)
    assert created["X-Request-ID"] == "req0001"
    event = _event("team.created")
    assert (event.actor_id, event.actor_name) == (platform_admin.pk, "padmin")
    assert event.team.slug == "ledger"
    assert (event.target_type, event.target_repr) == ("idp.team", "ledger")
    assert (event.request_id, event.ip_address) == ("req0001", "10.1.2.3")

    assert_ok(api.patch("/api/v1/teams/ledger/", {"name": "General ledger"}))
    updated = _event("team.updated")
    assert updated.details == {"changed": {"name": "General ledger"}}
    assert updated.request_id and updated.request_id != "req0001"  # one id per request
    assert updated.ip_address == "127.0.0.1"

    assert_ok(api.post("/api/v1/teams/ledger/members/", {"username": "zed", "role": "viewer"}), 201)
    added = _event("membership.added")
    assert added.details == {"user": "zed", "role": "viewer", "previous_role": None}
    assert added.team.slug == "ledger" and added.actor_name == "padmin"

    assert_ok(api.patch("/api/v1/teams/ledger/members/zed/", {"role": "admin"}))
    changed = _event("membership.role_changed")
    assert changed.details == {"user": "zed", "role": "admin", "previous_role": "viewer"}

    assert_ok(api.delete("/api/v1/teams/ledger/members/zed/"), 204)
    removed = _event("membership.removed")
    assert removed.details == {"user": "zed", "role": "admin"}
    assert removed.team.slug == "ledger" and removed.ip_address == "127.0.0.1"

    # A no-op (same role again) writes nothing.
    assert_ok(api.post("/api/v1/teams/ledger/members/", {"username": "zed", "role": "viewer"}), 201)
    assert_ok(api.post("/api/v1/teams/ledger/members/", {"username": "zed", "role": "viewer"}), 201)
    assert AuditEvent.objects.filter(action="membership.added").count() == 2


def test_portal_changes_are_audited(by_role, client_as, make_user, teams):
    make_user("dave", team=teams["payments"])
    client = client_as(by_role[Role.ADMIN])
    client.post("/teams/payments/members/dave/", {"role": "viewer"}, REMOTE_ADDR="10.9.9.9")
    event = _event("membership.role_changed")
    assert event.actor_name == "admin-user" and event.ip_address == "10.9.9.9"
    assert len(event.request_id) == 32


def test_service_call_outside_a_request_is_system(teams):
    event = audit.record("platform.checked", target=teams["payments"], details={"ok": True})
    assert (event.actor, event.actor_name) == (None, "system")
    assert event.team == teams["payments"]
    assert (event.request_id, event.ip_address) == ("", None)


def test_audit_events_are_append_only(teams):
    event = audit.record("platform.checked", team=teams["payments"])
    event.action = "tampered"
    with pytest.raises(PermissionDenied):
        event.save()
    with pytest.raises(PermissionDenied):
        event.delete()
    with pytest.raises(PermissionDenied):
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(PermissionDenied):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "platform.checked"


def test_admin_cannot_add_change_or_delete_audit_events(superuser, client_as, teams):
    event = audit.record("platform.checked", team=teams["payments"])
    client = client_as(superuser)
    changelist = client.get("/admin/idp/auditevent/")
    assert changelist.status_code == 200 and b"platform.checked" in changelist.content
    assert client.get("/admin/idp/auditevent/add/").status_code == 403
    assert (
        client.post(f"/admin/idp/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    page = client.get(f"/admin/idp/auditevent/{event.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content  # read-only view
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_audit_api_is_scoped(by_role, carol, platform_admin, api_as, teams):
    services.update_team(teams["payments"], description="p")  # payments event
    services.update_team(teams["search"], description="s")  # search event
    audit.record("platform.checked")  # no team: platform admins only

    everything = assert_ok(api_as(platform_admin).get("/api/v1/audit/"))
    actions = {(e["team"], e["action"]) for e in everything["results"]}
    assert {
        ("payments", "team.updated"),
        ("search", "team.updated"),
        (None, "platform.checked"),
    } <= actions

    team_admin = assert_ok(api_as(by_role[Role.ADMIN]).get("/api/v1/audit/"))
    assert team_admin["count"] > 0
    assert {e["team"] for e in team_admin["results"]} == {"payments"}

    filtered = assert_ok(api_as(by_role[Role.ADMIN]).get("/api/v1/audit/?action=team.upd"))
    assert [e["action"] for e in filtered["results"]] == ["team.updated"]

    for role in (Role.VIEWER, Role.MEMBER, Role.MAINTAINER):
        body = assert_ok(api_as(by_role[role]).get("/api/v1/audit/"))
        assert (body["count"], body["results"]) == (0, [])
    assert assert_ok(api_as(carol).get("/api/v1/audit/"))["count"] == 0


@pytest.mark.parametrize("role", ROLES)
def test_portal_team_audit_page(role, by_role, client_as, teams):
    services.update_team(teams["payments"], description="new words", actor=by_role[Role.ADMIN])
    services.update_team(teams["search"], description="secret words")
    client = client_as(by_role[role])
    page = client.get("/teams/payments/audit/")
    if role == Role.ADMIN:
        assert page.status_code == 200
        assert b"team.updated" in page.content and b"new words" in page.content
        assert b"secret words" not in page.content
        filtered = client.get("/teams/payments/audit/?action=membership.")
        assert b"new words" not in filtered.content
    else:
        assert page.status_code == 403
    assert client.get("/teams/search/audit/").status_code == 404


def test_heartbeat_runs_on_a_real_worker(celery_worker):
    """A real Celery worker on the configured broker (Redis in CI) runs an idp task."""
    import time

    from idp.tasks import record_heartbeat

    record_heartbeat.delay("from the test")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        event = AuditEvent.objects.filter(action="platform.heartbeat").first()
        if event is not None:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the worker did not run idp.record_heartbeat within 60s")
    assert (event.actor, event.actor_name) == (None, "system")
    assert event.details["note"] == "from the test"
    assert event.details["run_id"].startswith("heartbeat-")
