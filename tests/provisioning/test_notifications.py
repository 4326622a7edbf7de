"""E-mail and webhook news about plans (provisioning/notifications.py), sent by the lifecycle's
listener after the transition commits: to the approvers a plan waits for, and to the
requester when it is decided, applied or fails; each user may turn them off."""

# ruff: noqa: F811 - the surfaces fixtures are imported by name, then asked for by name
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from idp import services
from idp.choices import Role
from idp.models import NotificationPreference
from provisioning import actions, lifecycle
from provisioning.choices import ResourceEvent, ResourceStatus, RunKind, RunStatus
from provisioning.crypto import encrypt_json
from provisioning.models import Resource, Run
from tests.provisioning.surfaces.conftest import (  # noqa: F401 - fixtures
    envs,
    make_resource,
    make_run,
    template,
)
from tests.utils import free_port

SECRET = "s3cret-never-mailed"


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.IDP_SITE_URL = "https://idp.example.com"
    settings.IDP_SLACK_WEBHOOK_URL = ""


@pytest.fixture
def people(make_user: Callable[..., Any], teams: dict, alice: Any, bob: Any, carol: Any) -> Any:
    """alice requests; bob (maintainer) and padmin may approve; victor (viewer), mia (member)
    and carol (another team) may not."""
    padmin = make_user("padmin")
    services.set_platform_admin(padmin, True)
    make_user("victor", team=teams["payments"], role=Role.VIEWER)
    make_user("mia", team=teams["payments"], role=Role.MEMBER)
    return padmin


@pytest.fixture
def planning(make_resource, make_run, envs, teams, alice) -> tuple[Resource, Run]:
    """alice's request in prod, its plan running on a worker (a secret among its inputs)."""
    resource = make_resource(
        teams["payments"],
        "app-config",
        environment=envs["prod"],
        status=ResourceStatus.PLANNING,
        requested_by=alice,
        sensitive_parameters=encrypt_json({"token": SECRET}),
    )
    plan = make_run(resource, status=RunStatus.RUNNING, created_by=alice)
    return resource, plan


def plan_ends(resource: Resource, plan: Run, capture: Any, **requirement: Any) -> None:
    """The worker's end of a plan that needs approval, committed (callbacks run)."""
    Run.objects.filter(pk=plan.pk).update(
        status=RunStatus.SUCCEEDED,
        finished_at=timezone.now(),
        plan_hash="c" * 64,
        plan_summary={"add": 1, "change": 0, "destroy": 0, "resources": []},
        approval_requirement={
            "approvals": 1,
            "reasons": ["prod requires 1 approval"],
            "estimated_monthly_cost": "1.50",
        }
        | requirement,
    )
    with capture(execute=True):
        lifecycle.transition(
            resource, ResourceStatus.AWAITING_APPROVAL, ResourceEvent.PLAN_AWAITS_APPROVAL
        )


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_approvers_get_one_mail_each_when_a_plan_awaits_them(
    people, planning, django_capture_on_commit_callbacks
) -> None:
    resource, plan = planning
    plan_ends(resource, plan, django_capture_on_commit_callbacks)
    assert recipients() == ["bob@example.com", "padmin@example.com"]  # not alice, mia, victor
    assert all(len(message.to) == 1 for message in mail.outbox)
    message = mail.outbox[0]
    assert message.subject == "[IDP] Plan awaits your decision: payments/prod/app-config"
    assert "alice asks for your decision on a request of app-config" in message.body
    assert "Plan: +1 to add, ~0 to change, -0 to destroy" in message.body
    assert "Estimated cost: $1.50/month" in message.body
    assert "Needs: 1 approval from a maintainer or admin of payments" in message.body
    assert "The approval window closes:" in message.body
    assert f"https://idp.example.com/resources/{resource.pk}/" in message.body
    assert "https://idp.example.com/profile/" in message.body
    assert SECRET not in message.body


def test_over_budget_only_platform_admins_are_told(
    people, planning, django_capture_on_commit_callbacks
) -> None:
    resource, plan = planning
    plan_ends(
        resource,
        plan,
        django_capture_on_commit_callbacks,
        platform_admin=True,
        reasons=["its estimate takes payments over its budget"],
    )
    assert recipients() == ["padmin@example.com"]
    assert "Needs: a platform admin" in mail.outbox[0].body


def test_the_requester_hears_of_the_rejection(
    people, bob, planning, django_capture_on_commit_callbacks
) -> None:
    resource, plan = planning
    plan_ends(resource, plan, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    resource.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        actions.reject(resource, actor=bob, reason="Use the shared config instead")
    assert recipients() == ["alice@example.com"]
    message = mail.outbox[0]
    assert message.subject == "[IDP] Plan rejected: payments/prod/app-config"
    assert 'rejected by bob. Reason: "Use the shared config instead"' in message.body


def test_the_requester_hears_of_approval_apply_and_failure(
    people, planning, make_run, django_capture_on_commit_callbacks
) -> None:
    resource, plan = planning
    plan_ends(resource, plan, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    resource.refresh_from_db()
    # The approval as the action records it in the lifecycle (the apply is the worker's).
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.transition(resource, ResourceStatus.APPLYING, ResourceEvent.APPROVED)
    assert [m.subject for m in mail.outbox] == ["[IDP] Plan approved: payments/prod/app-config"]
    assert mail.outbox[0].to == ["alice@example.com"]

    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.transition(resource, ResourceStatus.PROVISIONED, ResourceEvent.APPLIED)
    assert mail.outbox[-1].subject == "[IDP] Applied: payments/prod/app-config"
    assert "it is provisioned" in mail.outbox[-1].body and mail.outbox[-1].to == [
        "alice@example.com"
    ]

    # A later apply fails on the worker: the requester is told, with the run's page.
    Resource.objects.filter(pk=resource.pk).update(status=ResourceStatus.APPLYING)
    resource.refresh_from_db()
    failed = make_run(resource, kind=RunKind.APPLY, status=RunStatus.FAILED, error=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.transition(resource, ResourceStatus.FAILED, ResourceEvent.RUN_STOPPED)
    message = mail.outbox[-1]
    assert message.subject == "[IDP] Run failed: payments/prod/app-config"
    assert f"The apply run {failed.pk} of app-config failed" in message.body
    assert f"https://idp.example.com/resources/runs/{failed.pk}/" in message.body
    assert SECRET not in message.body  # a run's error may echo values: never quoted
    assert len(mail.outbox) == 3


def test_a_cancelled_run_and_a_first_of_two_approvals_send_nothing(
    people, bob, planning, make_run, django_capture_on_commit_callbacks
) -> None:
    resource, plan = planning
    plan_ends(resource, plan, django_capture_on_commit_callbacks, approvals=2)
    mail.outbox.clear()
    resource.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        actions.approve(resource, actor=bob)
    assert mail.outbox == []  # still awaiting: nothing decided yet
    Resource.objects.filter(pk=resource.pk).update(status=ResourceStatus.APPLYING)
    resource.refresh_from_db()
    make_run(resource, kind=RunKind.APPLY, status=RunStatus.CANCELLED)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.transition(resource, ResourceStatus.FAILED, ResourceEvent.RUN_STOPPED)
    assert mail.outbox == []


def test_preferences_off_means_no_mail(
    people, bob, alice, planning, django_capture_on_commit_callbacks
) -> None:
    services.set_notification_preferences(bob, plans_to_decide=False, my_requests=True)
    services.set_notification_preferences(alice, plans_to_decide=True, my_requests=False)
    resource, plan = planning
    plan_ends(resource, plan, django_capture_on_commit_callbacks)
    assert recipients() == ["padmin@example.com"]  # bob turned these off
    mail.outbox.clear()
    resource.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        actions.reject(resource, actor=bob, reason="no")
    assert mail.outbox == []  # alice turned news of her requests off


def test_the_webhook_gets_the_news(
    people, bob, planning, webhook, django_capture_on_commit_callbacks
) -> None:
    resource, plan = planning
    plan_ends(resource, plan, django_capture_on_commit_callbacks)
    resource.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        actions.reject(resource, actor=bob, reason="not now")
    texts = [body["text"] for body in webhook]
    assert len(texts) == 2
    assert texts[0].startswith("*[IDP] Plan awaits your decision: payments/prod/app-config*")
    assert f"https://idp.example.com/resources/{resource.pk}/" in texts[0]
    assert "Turn these messages off" not in texts[0]
    assert texts[1].startswith("*[IDP] Plan rejected: payments/prod/app-config*")
    assert all(SECRET not in text for text in texts)


def test_a_mail_server_and_a_webhook_down_never_break_the_transition(
    people, planning, settings, django_capture_on_commit_callbacks, caplog
) -> None:
    closed = free_port()  # nothing listens there
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed, 2
    settings.IDP_SLACK_WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/hook?token=hidden-token"
    resource, plan = planning
    plan_ends(resource, plan, django_capture_on_commit_callbacks)
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    logged = caplog.text
    assert "notification e-mail" in logged and "notification webhook failed" in logged
    assert "hidden-token" not in logged


def test_the_profile_turns_them_off_and_on(client_as, alice, carol) -> None:
    client = client_as(alice)
    page = client.get("/profile/").content.decode()
    assert 'name="plans_to_decide"' in page and 'name="my_requests"' in page
    assert page.count("checked") >= 2  # no row yet: everything on
    response = client.post("/profile/notifications/", {"my_requests": "on"})
    assert response.status_code == 302 and response["Location"] == "/profile/#notifications"
    preference = NotificationPreference.objects.get(user=alice)
    assert preference.plans_to_decide is False and preference.my_requests is True
    from idp.models import AuditEvent

    event = AuditEvent.objects.get(action="user.notifications_changed")
    assert event.actor == alice and event.details["plans_to_decide"] is False
    page = client.get("/profile/").content.decode()
    assert 'name="plans_to_decide" id="id_plans_to_decide"' in page
    assert not _checked(page, "plans_to_decide") and _checked(page, "my_requests")
    # Only one's own: the form has no user field, and carol's preferences are untouched.
    client.post("/profile/notifications/", {"plans_to_decide": "on", "user": carol.pk})
    assert not NotificationPreference.objects.filter(user=carol).exists()
    opened = client.get("/profile/notifications/")  # opened directly: the profile's section
    assert opened.status_code == 302 and opened["Location"] == "/profile/#notifications"
    client.logout()
    anonymous = client.post("/profile/notifications/", {})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def _checked(page: str, name: str) -> bool:
    import re

    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert tag, name
    return "checked" in tag.group(0)


def test_an_unchanged_preference_is_not_audited(alice) -> None:
    from idp.models import AuditEvent

    services.set_notification_preferences(alice, plans_to_decide=True, my_requests=True)
    assert not AuditEvent.objects.filter(action="user.notifications_changed").exists()
    assert NotificationPreference.objects.get(user=alice).plans_to_decide


def test_old_plans_do_not_name_an_expired_window(
    people, planning, django_capture_on_commit_callbacks, settings
) -> None:
    settings.IDP_APPROVAL_TTL_HOURS = 1
    resource, plan = planning
    plan_ends(resource, plan, django_capture_on_commit_callbacks)
    closes = timezone.localtime(Run.objects.get(pk=plan.pk).finished_at + timedelta(hours=1))
    assert closes.strftime("%Y-%m-%d %H:%M") in mail.outbox[0].body
