"""The resource page's live part (htmx polling of `/resources/<pk>/live/`), the approval
banner, how values read on the page, and the run log while a run waits for a worker."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from idp.choices import Role
from provisioning import lifecycle
from provisioning.choices import ResourceEvent, ResourceStatus, RunKind, RunStatus
from provisioning.models import Resource, Run

POLLING = 'hx-trigger="every 2s"'


def live_state(html: str) -> str:
    """The state the page's live part shows (what the poller sends back)."""
    found = re.search(r'id="resource-live" data-state="([0-9a-f]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def finish_plan(resource: Resource, plan: Run, **requirement: Any) -> None:
    """What a worker does when a plan that needs approval ends: the run succeeded, the
    resource awaits approval (through the lifecycle, as the engine does)."""
    Run.objects.filter(pk=plan.pk).update(
        status=RunStatus.SUCCEEDED,
        started_at=timezone.now() - timedelta(seconds=5),
        finished_at=timezone.now(),
        plan_hash="b" * 64,
        plan_summary={"add": 1, "change": 0, "destroy": 0, "resources": []},
        approval_requirement={"approvals": 1, "reasons": ["prod requires 1 approval"]}
        | requirement,
    )
    resource.refresh_from_db()
    if resource.status == ResourceStatus.PENDING:
        lifecycle.transition(resource, ResourceStatus.PLANNING, ResourceEvent.PLAN_STARTED)
    lifecycle.transition(
        resource, ResourceStatus.AWAITING_APPROVAL, ResourceEvent.PLAN_AWAITS_APPROVAL
    )


@pytest.fixture
def requested(make_resource, make_run, envs, teams, alice) -> tuple[Resource, Run]:
    """alice's fresh request in prod: pending, its first plan queued."""
    resource = make_resource(
        teams["payments"],
        "app-config",
        environment=envs["prod"],
        status=ResourceStatus.PENDING,
        requested_by=alice,
    )
    plan = make_run(resource, status=RunStatus.QUEUED, created_by=alice)
    return resource, plan


def test_the_live_part_follows_the_status_and_answers_204_while_unchanged(
    client_as, alice, requested
) -> None:
    resource, plan = requested
    client = client_as(alice)
    page = client.get(f"/resources/{resource.pk}/")
    html = page.content.decode()
    assert "no-cache" in page["Cache-Control"] or "max-age=0" in page["Cache-Control"]
    assert POLLING in html and f'hx-get="/resources/{resource.pk}/live/?state=' in html
    assert "A plan run is" in html and "waiting for a worker since" in html
    state = live_state(html)

    live = f"/resources/{resource.pk}/live/"
    unchanged = client.get(live, {"state": state})
    assert unchanged.status_code == 204 and unchanged.content == b""
    assert "max-age=0" in unchanged["Cache-Control"]

    finish_plan(resource, plan)
    changed = client.get(live, {"state": state})
    body = changed.content.decode()
    assert changed.status_code == 200
    assert '<span class="badge awaiting_approval" id="resource-status">Awaiting approval' in body
    assert "<html" not in body  # the part only, swapped in place of the old one
    assert 'id="approval-banner"' in body and POLLING in body  # still waiting for someone
    assert "+1 to add" in body
    new_state = live_state(body)
    assert new_state != state
    assert client.get(live, {"state": new_state}).status_code == 204


def test_polling_stops_once_the_resource_is_quiet(
    client_as, alice, teams, make_resource, make_run
) -> None:
    resource = make_resource(teams["payments"], "cfg", status=ResourceStatus.PLANNING)
    run = make_run(resource, status=RunStatus.RUNNING, kind=RunKind.PLAN)
    client = client_as(alice)
    state = live_state(client.get(f"/resources/{resource.pk}/").content.decode())

    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, finished_at=timezone.now())
    lifecycle.transition(resource, ResourceStatus.PROVISIONED, ResourceEvent.PLAN_NO_CHANGES)
    Resource.objects.filter(pk=resource.pk).update(outputs={"message": "hello out there"})
    final = client.get(f"/resources/{resource.pk}/live/", {"state": state})
    body = final.content.decode()
    assert final.status_code == 200 and "Provisioned" in body and "hello out there" in body
    assert 'hx-trigger="every' not in body and "resource_live" not in body
    assert 'id="resource-live" data-state' in body and "/live/" not in body
    # A poller that still asks with the final state is told to stop (htmx: 286).
    assert (
        client.get(f"/resources/{resource.pk}/live/", {"state": live_state(body)}).status_code
        == 286
    )
    # A quiet page does not poll at all.
    assert POLLING not in client.get(f"/resources/{resource.pk}/").content.decode()


def test_another_teams_live_part_is_404_and_a_viewer_only_reads(
    client_as, carol, viewer, requested
) -> None:
    resource, _ = requested
    assert client_as(carol).get(f"/resources/{resource.pk}/live/").status_code == 404
    assert client_as(carol).get(f"/resources/{resource.pk}/live/?state=x").status_code == 404
    seen = client_as(viewer).get(f"/resources/{resource.pk}/live/").content.decode()
    assert "app-config" in seen and 'id="actions"' not in seen


def test_the_live_part_needs_a_sign_in(client, requested) -> None:
    resource, _ = requested
    response = client.get(f"/resources/{resource.pk}/live/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_banner_says_who_may_approve_since_when_and_until_when(
    client_as, alice, bob, requested, settings
) -> None:
    settings.IDP_APPROVAL_TTL_HOURS = 72
    resource, plan = requested
    finish_plan(resource, plan)
    plan.refresh_from_db()
    closes = timezone.localtime(plan.finished_at + timedelta(hours=72)).strftime("%Y-%m-%d %H:%M")

    mine = client_as(alice).get(f"/resources/{resource.pk}/").content.decode()
    banner = re.search(r'<div class="card approval-banner".*?</div>', mine, re.S)
    assert banner, mine
    text = re.sub(r"\s+", " ", banner.group(0))
    assert "This plan awaits approval." in text
    assert "1 approval from a maintainer or admin of payments (or a platform admin)" in text
    assert "not alice, who made this change" in text
    assert "Waiting since" in text and f'id="approval-window">{closes}</time>' in text
    assert "prod requires 1 approval" in text

    theirs = client_as(bob).get(f"/resources/{resource.pk}/").content.decode()
    assert "This plan awaits your decision." in theirs


def test_banner_over_budget_names_a_platform_admin(client_as, alice, requested) -> None:
    resource, plan = requested
    finish_plan(
        resource,
        plan,
        platform_admin=True,
        reasons=["its estimate ($900/month) takes payments over its budget"],
    )
    html = client_as(alice).get(f"/resources/{resource.pk}/").content.decode()
    assert "It needs a platform admin" in html and "over its budget" in html


def test_no_banner_when_nothing_awaits(client_as, alice, teams, make_resource) -> None:
    resource = make_resource(teams["payments"], "cfg")
    html = client_as(alice).get(f"/resources/{resource.pk}/").content.decode()
    assert 'id="approval-banner"' not in html


def test_values_read_as_json_folded_and_money_formatted(
    client_as, alice, teams, make_resource
) -> None:
    resource = make_resource(
        teams["payments"],
        "cfg",
        parameters={"message": "hi", "labels": {"tier": "gold"}, "enabled": True},
        outputs={"arn": "arn:aws:x", "tags": {"team": "payments"}, "blob": "x" * 5000},
        estimated_monthly_cost=Decimal("1234.5"),
    )
    html = client_as(alice).get(f"/resources/{resource.pk}/").content.decode()
    assert "{&quot;tier&quot;: &quot;gold&quot;}" in html and "{'tier'" not in html
    assert '<code class="value">true</code>' in html and ">True<" not in html
    assert "{&quot;team&quot;: &quot;payments&quot;}" in html
    assert '<details class="long-value">' in html and "show all 5,000 characters" in html
    assert "$1,234.50/month" in html


def test_current_run_sentence_and_cancel_asks_first(
    client_as, alice, teams, make_resource, make_run
) -> None:
    resource = make_resource(teams["payments"], "cfg", status=ResourceStatus.APPLYING)
    run = make_run(resource, kind=RunKind.APPLY, status=RunStatus.QUEUED)
    html = client_as(alice).get(f"/resources/{resource.pk}/").content.decode()
    assert "An apply run is" in html and "A apply" not in html
    cancel = re.search(rf'<form[^>]*action="/resources/runs/{run.pk}/cancel/"[^>]*>', html)
    assert cancel and 'onsubmit="return confirm(' in cancel.group(0)
    run_page = client_as(alice).get(f"/resources/runs/{run.pk}/").content.decode()
    cancel = re.search(rf'<form[^>]*action="/resources/runs/{run.pk}/cancel/"[^>]*>', run_page)
    assert cancel and "confirm(" in cancel.group(0)


def test_decision_forms_keep_what_is_typed_across_swaps(
    client_as, bob, platform_admin, requested
) -> None:
    resource, plan = requested
    finish_plan(resource, plan)
    html = client_as(bob).get(f"/resources/{resource.pk}/live/").content.decode()
    assert 'id="id_approve_reason"' in html and 'id="id_reject_reason"' in html
    for field in re.findall(r'<(?:input|textarea)[^>]*name="reason"[^>]*>', html):
        assert "hx-preserve" in field, field
    # The forms still post with the page's CSRF token and the plan they show.
    assert html.count("csrfmiddlewaretoken") >= 2 and f'value="{plan.pk}"' in html
    admin = client_as(platform_admin).get(f"/resources/{resource.pk}/").content.decode()
    assert 'id="id_break_glass_reason"' in admin


def test_archive_button_when_allowed(client_as, alice, bob, teams, make_resource) -> None:
    from provisioning import actions

    resource = make_resource(teams["payments"], "gone", status=ResourceStatus.REJECTED)
    assert "archive" in actions.allowed_actions(resource, bob)
    html = client_as(bob).get(f"/resources/{resource.pk}/").content.decode()
    assert f'action="/resources/{resource.pk}/archive/"' in html and ">Archive<" in html
    provisioned = make_resource(teams["payments"], "kept")
    html = client_as(bob).get(f"/resources/{provisioned.pk}/").content.decode()
    assert ">Archive<" not in html


# --- the run log while a run waits ------------------------------------------------------


def test_run_log_says_waiting_for_a_worker_while_queued(
    client_as, alice, teams, make_resource, make_run
) -> None:
    resource = make_resource(teams["payments"], "cfg", status=ResourceStatus.PLANNING)
    run = make_run(resource, status=RunStatus.QUEUED)
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(seconds=12))
    client = client_as(alice)
    page = client.get(f"/resources/runs/{run.pk}/").content.decode()
    waiting = re.search(r'<p id="log-waiting"[^>]*>(.*?)</p>', page, re.S)
    assert waiting and "Waiting for a worker… queued since" in waiting.group(1)
    assert re.search(r"\((1[2-9]|[2-9]\d) s\)", waiting.group(1)), waiting.group(1)
    assert 'id="log"></pre>' in page  # the empty log box is hidden by the page's CSS

    partial = client.get(f"/resources/runs/{run.pk}/log/?offset=0").content.decode()
    assert "Waiting for a worker" in partial and 'hx-swap-oob="true"' in partial

    # A worker takes it and writes: the waiting line goes, the text is appended.
    lifecycle.start_run(run, worker="w1")
    Run.objects.filter(pk=run.pk).update(log_size=9)
    run.log_chunks.create(seq=0, offset=0, text="Planning\n")
    partial = client.get(f"/resources/runs/{run.pk}/log/?offset=0").content.decode()
    assert "Waiting for a worker" not in partial
    assert re.search(r'<p id="log-waiting"[^>]*hidden', partial)
    assert 'hx-swap-oob="beforeend:#log">Planning' in partial
    assert '<span class="badge running" id="run-status" hx-swap-oob="true">Running' in partial
    started = re.search(r'<dl class="kv" id="run-times" hx-swap-oob="true">.*?</dl>', partial, re.S)
    assert started and "<dt>Started</dt><dd>—" not in started.group(0)


def test_a_member_of_another_team_never_sees_the_waiting_run(
    client_as, carol, teams, make_resource, make_run
) -> None:
    resource = make_resource(teams["payments"], "cfg", status=ResourceStatus.PLANNING)
    run = make_run(resource, status=RunStatus.QUEUED)
    assert client_as(carol).get(f"/resources/runs/{run.pk}/log/?offset=0").status_code == 404


def test_a_maintainer_sees_the_same_live_part_with_decisions(
    client_as, make_user, teams, requested
) -> None:
    resource, plan = requested
    finish_plan(resource, plan)
    dana = make_user("dana", team=teams["payments"], role=Role.ADMIN)
    html = client_as(dana).get(f"/resources/{resource.pk}/live/").content.decode()
    assert "Approve plan" in html and "Reject plan" in html
