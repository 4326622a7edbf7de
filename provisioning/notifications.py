"""Telling people about plans: e-mail to the approvers a plan waits for, and to the requester
when it is decided, applied or fails; the same news on the Slack-compatible webhook.

Hooked into the lifecycle as a listener (`ProvisioningConfig.ready()`), so it runs after the
transition's transaction committed, never inside it. Delivery problems (a mail server or a
webhook down) are logged and never reach the transition's caller. Messages carry names,
counts, costs and a link to the resource page: never parameters, outputs or logs, where
secrets live. Each user may turn either kind off (`idp.models.NotificationPreference`).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from idp.choices import PLATFORM_ADMIN_GROUP, Role
from idp.conf import setting
from idp.models import Membership, NotificationPreference

from . import lifecycle
from .approval_policy import TEAM_ADMIN, ApprovalPolicy, Requirement, plan_expiry
from .choices import RUN_TERMINAL, ResourceEvent, ResourceStatus, RunKind, RunStatus
from .models import Resource, Run
from .plan_summary import plan_counts
from .proposals import pending_plan, plan_awaiting_decision

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 5  # seconds: a slow webhook must not hold a worker or a request long

# Which preference of the recipient switches a message off.
PLANS_TO_DECIDE = "plans_to_decide"
MY_REQUESTS = "my_requests"
# Drift found on a team's resource. Without a preference field of that name it is always on.
DRIFT_FOUND = "drift_found"
# The roles of a team told about its drift: those who may reconcile or accept it.
DRIFT_ROLES = (Role.MEMBER, Role.MAINTAINER, Role.ADMIN)


# The moves a requester hears of (besides a plan that awaits approval, for the approvers).
NEWS_EVENTS = frozenset(
    {
        ResourceEvent.APPROVED,
        ResourceEvent.BREAK_GLASS,
        ResourceEvent.REJECTED,
        ResourceEvent.APPROVAL_EXPIRED,
        ResourceEvent.APPLIED,
        ResourceEvent.DESTROYED,
        ResourceEvent.STATE_PUSHED,
        ResourceEvent.RUN_STOPPED,
        ResourceEvent.PLAN_POLICY_FAILED,
    }
)


@dataclass
class Notice:
    """One piece of news: who gets it by e-mail, under which preference, and its text."""

    subject: str
    body: str
    preference: str
    recipients: list[Any] = field(default_factory=list)


def register() -> None:
    """Listen to the lifecycle (called from `ProvisioningConfig.ready()`)."""
    lifecycle.on_resource_moved(on_resource_moved)


def on_resource_moved(moved: lifecycle.Moved) -> None:
    """The listener: build the notice for this move, if any, and deliver it. Never raises: the
    transition has committed and its caller must not see a notification's trouble."""
    try:
        notice = notice_for(moved)
        if notice is not None:
            deliver(notice)
    except Exception:  # noqa: BLE001 - news is best effort; the transition stands
        logger.exception("notification for resource %s (%s) failed", moved.resource_id, moved.event)


# --- who -----------------------------------------------------------------------------------


def who_may_approve(resource: Resource, requirement: Requirement) -> str:
    """The people a plan waits for, in words (the banner and the e-mails say the same)."""
    count = max(1, requirement.approvals)  # a plan that waits needs at least one
    approvals = "1 approval" if count == 1 else f"{count} approvals"
    if requirement.platform_admin:
        if count <= 1:
            return "a platform admin"
        return f"{approvals}, one of them from a platform admin"
    approvers = ApprovalPolicy.of(resource).approvers(resource.team.slug)
    if requirement.role == TEAM_ADMIN:
        admin = f"an admin of {resource.team.slug} (or a platform admin)"
        if count <= 1:
            return f"1 approval from {admin}"
        return f"{approvals} from {approvers}, one of them from {admin}"
    return f"{approvals} from {approvers}"


def approvers(resource: Resource, plan: Run) -> list[Any]:
    """Users who may decide on the plan now: the team's members and the platform admins,
    each asked of the approval policy (roles, four eyes, a platform admin over budget)."""
    members = Membership.objects.filter(team_id=resource.team_id).values("user_id")
    candidates = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(pk__in=members) | Q(is_superuser=True) | Q(groups__name=PLATFORM_ADMIN_GROUP))
        .distinct()
        .order_by("username")
    )
    policy = ApprovalPolicy.of(resource)
    return [user for user in candidates if policy.refusal(resource, plan, user) is None]


def requester(resource: Resource) -> Any:
    """Who asked for the change at hand: the author of the newest plan (a change, upgrade,
    destroy or re-plan), else who requested the resource."""
    plan = (
        Run.objects.filter(resource=resource, kind=RunKind.PLAN)
        .exclude(created_by=None)
        .select_related("created_by")
        .order_by("-pk")
        .first()
    )
    return plan.created_by if plan is not None else resource.requested_by


def wants(user: Any, preference: str) -> bool:
    """Whether the user keeps this kind of message on (no preference row: everything on)."""
    row = NotificationPreference.objects.filter(user=user).first()
    return row is None or bool(getattr(row, preference, True))


# --- what ----------------------------------------------------------------------------------


def site_url(path: str) -> str:
    return setting("IDP_SITE_URL").rstrip("/") + path


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else "—"


def _name(resource: Resource) -> str:
    return f"{resource.team.slug}/{resource.environment.slug}/{resource.name}"


def _footer(reason: str) -> str:
    return (
        f"\n\nYou get this because {reason}. Turn these messages off on your profile: "
        f"{site_url(reverse('profile'))}\n"
    )


def notice_for(moved: lifecycle.Moved) -> Notice | None:
    """The notice a resource's move calls for (None: nothing to tell)."""
    if moved.after != ResourceStatus.AWAITING_APPROVAL and moved.event not in NEWS_EVENTS:
        return None  # most moves are no news: no query for them
    resource = (
        Resource.objects.select_related("team", "environment", "template", "requested_by")
        .filter(pk=moved.resource_id)
        .first()
    )
    if resource is None:
        return None
    if moved.after == ResourceStatus.AWAITING_APPROVAL:
        return _plan_awaits(resource)
    outcome = _outcome(resource, moved)
    if outcome is None:
        return None
    person = requester(resource)
    if person is None:
        return None
    link = site_url(resource.get_absolute_url())
    subject, sentence = outcome
    body = (
        f"{sentence}\n\nResource: {_name(resource)} ({resource.template.slug})\n"
        f"Status: {resource.get_status_display()}\n\nSee it: {link}"
        + _footer("you requested this change")
    )
    return Notice(f"[IDP] {subject}: {_name(resource)}", body, MY_REQUESTS, [person])


def _outcome(resource: Resource, moved: lifecycle.Moved) -> tuple[str, str] | None:
    """(subject, first sentence) for the requester, or None when the move is no news."""
    event = moved.event
    if event in (ResourceEvent.APPROVED, ResourceEvent.BREAK_GLASS):
        return "Plan approved", f"Your plan for {resource.name} was approved; it is being applied."
    if event == ResourceEvent.REJECTED:
        decision = resource.approvals.order_by("-pk").first()
        by = decision.decided_by.get_username() if decision and decision.decided_by else "someone"
        reason = f' Reason: "{decision.reason}"' if decision and decision.reason else ""
        return "Plan rejected", f"Your plan for {resource.name} was rejected by {by}.{reason}"
    if event == ResourceEvent.APPROVAL_EXPIRED:
        return "Plan expired", (
            f"Your plan for {resource.name} was not decided in time and was discarded; "
            "plan it again to ask anew."
        )
    if event == ResourceEvent.APPLIED or (
        event == ResourceEvent.STATE_PUSHED and moved.after == ResourceStatus.PROVISIONED
    ):
        return "Applied", f"{resource.name} was applied as you asked; it is provisioned."
    if event == ResourceEvent.DESTROYED or (
        event == ResourceEvent.STATE_PUSHED and moved.after == ResourceStatus.DESTROYED
    ):
        return "Destroyed", f"{resource.name} was destroyed as requested."
    if event == ResourceEvent.PLAN_POLICY_FAILED:
        # Policy messages name addresses and rules, never values: safe to quote.
        plan = pending_plan(resource)
        results = (plan.policy_summary or {}).get("results", []) if plan else []
        failures = [
            f"- {r.get('policy')}: {r.get('message')}"
            for r in results
            if r.get("level") == "failure" and r.get("enforcement") != "advisory"
        ]
        return "Plan fails a policy", (
            f"The plan for {resource.name} fails a mandatory policy, so nobody may approve "
            "it. Change the parameters so it passes, or withdraw it.\n" + "\n".join(failures)
        )
    if event == ResourceEvent.RUN_STOPPED:
        run = (
            Run.objects.filter(resource=resource, status__in=RUN_TERMINAL)
            .exclude(kind=RunKind.DRIFT)
            .order_by("-pk")
            .first()
        )
        if run is None or run.status != RunStatus.FAILED:
            return None  # a cancelled run is its canceller's own doing
        # The run's error is not quoted: Terraform errors may echo values.
        return "Run failed", (
            f"The {run.get_kind_display().lower()} run {run.pk} of {resource.name} failed. "
            f"Its log: {site_url(run.get_absolute_url())}"
        )
    return None


def _plan_awaits(resource: Resource) -> Notice | None:
    plan = plan_awaiting_decision(resource)
    if plan is None:
        return None
    requirement = Requirement.from_json(plan.approval_requirement)
    counts = plan_counts(plan.plan_summary) if plan.plan_summary else None
    author = requester(resource)
    what = "destroy" if plan.is_destroy else ("change" if resource.provisioned_at else "request")
    if plan.refresh_only:
        what = "drift acceptance (record the real values as intended)"
    lines = [
        f"{author.get_username() if author else 'The platform'} asks for your decision on a "
        f"{what} of {resource.name} ({resource.template.slug} "
        f"{plan.template_version.display}) in {resource.environment.slug} for "
        f"{resource.team.slug}.",
        "",
    ]
    if counts:
        lines.append(
            f"Plan: +{counts['add']} to add, ~{counts['change']} to change, "
            f"-{counts['destroy']} to destroy"
        )
    if requirement.estimated_monthly_cost is not None:
        lines.append(f"Estimated cost: ${requirement.estimated_monthly_cost}/month")
    lines.append(f"Needs: {who_may_approve(resource, requirement)}")
    if requirement.reasons:
        lines.append(f"Why: {'; '.join(requirement.reasons)}")
    lines.append(f"Waiting since: {_when(plan.finished_at)}")
    lines.append(f"The approval window closes: {_when(plan_expiry(plan))}")
    lines += ["", f"Review and decide: {site_url(resource.get_absolute_url())}"]
    body = "\n".join(lines) + _footer(f"you may approve plans of {resource.team.slug}")
    return Notice(
        f"[IDP] Plan awaits your decision: {_name(resource)}",
        body,
        PLANS_TO_DECIDE,
        approvers(resource, plan),
    )


def drift_notice(resource: Resource, *, reconciling: bool) -> Notice:
    """The news of a new drift for the owning team: which objects and outputs changed
    outside the platform (names only: values may be secret, the page shows them masked)."""
    details = resource.drift_details or {}
    lines = [
        f"{_name(resource)} ({resource.template.slug}) was changed outside the platform: "
        "its real state is no longer what the platform applied.",
        "",
    ]
    for item in details.get("resources") or []:
        attributes = ", ".join(item.get("attributes") or [])
        lines.append(f"- {item.get('address')} {item.get('action')}: {attributes or 'changed'}")
    lines += [f"- output {name} differs" for name in details.get("outputs") or []]
    lines.append("")
    if reconciling:
        lines.append(
            f"{resource.environment.slug} reconciles drift automatically: a plan back to the "
            "declared configuration is on its way."
        )
    else:
        lines.append(
            "Reconcile it (plan and apply back to its parameters) or accept the real values "
            "as intended, on its page or with `idp resources reconcile|accept-drift "
            f"{resource.pk}`."
        )
    lines += ["", f"Expected and actual values: {site_url(resource.get_absolute_url())}"]
    members = Membership.objects.filter(team_id=resource.team_id, role__in=DRIFT_ROLES)
    recipients = list(
        get_user_model()
        .objects.filter(is_active=True, pk__in=members.values("user_id"))
        .order_by("username")
    )
    body = "\n".join(lines) + _footer(f"you are a member of {resource.team.slug}")
    return Notice(f"[IDP] Drift found: {_name(resource)}", body, DRIFT_FOUND, recipients)


def notify_drift(resource_id: int, *, reconciling: bool = False) -> None:
    """Tell the owning team about a new drift (called on commit by `actions.drift`, once per
    new drift). Never raises: the drift check has committed."""
    try:
        resource = (
            Resource.objects.select_related("team", "environment", "template")
            .filter(pk=resource_id)
            .first()
        )
        if resource is not None and resource.drifted:
            deliver(drift_notice(resource, reconciling=reconciling))
    except Exception:  # noqa: BLE001 - news is best effort; the check stands
        logger.exception("drift notification for resource %s failed", resource_id)


# --- how -----------------------------------------------------------------------------------


def deliver(notice: Notice) -> None:
    """One e-mail per recipient who has an address and wants it, then the webhook."""
    addresses = [
        user.email for user in notice.recipients if user.email and wants(user, notice.preference)
    ]
    if addresses:
        send_mails(notice.subject, notice.body, addresses)
    post_webhook(notice.subject, notice.body)


def send_mails(subject: str, body: str, addresses: Iterable[str]) -> int:
    """Send one message per address (nobody sees the others); returns how many went."""
    messages = [EmailMessage(subject, body, None, [address]) for address in addresses]
    try:
        with get_connection() as connection:
            return int(connection.send_messages(messages) or 0)
    except Exception as exc:  # noqa: BLE001 - a mail server down must not break anything
        logger.warning("notification e-mail %r not sent: %s: %s", subject, type(exc).__name__, exc)
        return 0


def post_webhook(subject: str, body: str) -> bool:
    """Post the news to the Slack-compatible webhook when one is configured."""
    url = setting("IDP_SLACK_WEBHOOK_URL")
    if not url:
        return False
    # The first line and the link are the news; the footer is for e-mail readers.
    text = body.split("\n\nYou get this because")[0]
    data = json.dumps({"text": f"*{subject}*\n{text}"}).encode()
    request = urllib.request.Request(  # noqa: S310 - configured by the platform admin
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310
            return bool(200 <= response.status < 300)
    except Exception as exc:  # noqa: BLE001 - the URL is a secret: log the kind of failure only
        logger.warning("notification webhook failed: %s", type(exc).__name__)
        return False
