"""Portal pages: every policy with its scope, enforcement, source and version, and how often
it failed for which of the user's teams over the last 30 days."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from provisioning.approval_policy import approval_rules

from .choices import Level
from .models import Policy, PolicyResult
from .trends import WINDOW_DAYS, daily_table, failure_counts, totals_by_policy, totals_by_team

RECENT_FAILURES = 50


@login_required
def policy_list(request: HttpRequest) -> HttpResponse:
    policies = list(
        Policy.objects.filter(removed=False)
        .select_related("current_version")
        .defer("current_version__source")
    )
    counts = failure_counts(request.user)
    totals = totals_by_policy(counts)
    by_team = totals_by_team(counts)
    rows = [
        {
            "policy": policy,
            "failures": totals.get(policy.slug, 0),
            "teams": list(by_team.get(policy.slug, {}).values()),
        }
        for policy in policies
    ]
    return render(
        request,
        "policies/policy_list.html",
        {
            "rows": rows,
            "broken": [p for p in policies if p.sync_error],
            "table": daily_table(counts, by="policy"),
            "days": WINDOW_DAYS,
            # The approval policy as data, beside the Rego policies (provisioning owns it).
            "approval_rules": approval_rules(),
        },
    )


@login_required
def policy_detail(request: HttpRequest, slug: str) -> HttpResponse:
    policy = get_object_or_404(
        Policy.objects.select_related("current_version"), slug=slug, removed=False
    )
    counts = failure_counts(request.user, policy=policy)
    recent = (
        PolicyResult.objects.for_user(request.user)
        .filter(policy=policy, level=Level.FAILURE)
        .select_related("team", "version")
        .order_by("-created_at", "-id")[:RECENT_FAILURES]
    )
    return render(
        request,
        "policies/policy_detail.html",
        {
            "policy": policy,
            "version": policy.current_version,
            "versions": policy.versions.defer("source").order_by("-number"),
            "teams": list(totals_by_team(counts).get(policy.slug, {}).values()),
            "table": daily_table(counts, by="team"),
            "recent": recent,
            "recent_limit": RECENT_FAILURES,
            "days": WINDOW_DAYS,
        },
    )
