"""Portal pages: every policy with its scope, enforcement, source and version, and how often
it failed for which of the user's teams over the last 30 days."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from idp.conf import setting
from idp.rbac import is_platform_admin
from provisioning.approval_policy import approval_rules

from .choices import Level
from .engine import PolicyError
from .models import Policy, PolicyResult
from .trends import WINDOW_DAYS, daily_table, failure_counts, totals_by_policy, totals_by_team
from .whatif import APPROVAL_KINDS, MAX_DAYS, what_if

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


class WhatIfForm(forms.Form):
    """A draft to try: pasted, or a .rego file; how many days of plans to replay."""

    source = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "code"}),
        label="Draft policy (Rego with its # METADATA)",
    )
    file = forms.FileField(required=False, label="…or a .rego file")
    days = forms.IntegerField(initial=30, min_value=1, max_value=MAX_DAYS, label="Days of plans")

    def draft(self) -> tuple[str, str]:
        """(file name, text) of the draft; a ValidationError when there is none."""
        upload = self.cleaned_data.get("file")
        if upload is not None:
            if upload.size > 256 * 1024:
                raise forms.ValidationError({"file": "A policy file is at most 256 KiB"})
            try:
                return upload.name, upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError({"file": "The file is not UTF-8 text"}) from None
        text = self.cleaned_data.get("source") or ""
        if not text.strip():
            raise forms.ValidationError({"source": "Paste a draft or choose a file"})
        return "draft.rego", text


CHANGE_KINDS = ("newly blocked", "no longer blocked", "newly warned", "newly failing", "eased")


@login_required
def policy_whatif(request: HttpRequest) -> HttpResponse:
    """Platform admins try a draft policy on the stored plans before enabling it."""
    if not is_platform_admin(request.user):
        raise PermissionDenied(
            "Only platform admins try draft policies: a draft is replayed on every team's plans"
        )
    form = WhatIfForm(request.POST or None, request.FILES or None)
    answer = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                name, source = form.draft()
                answer = what_if(source, name=name, days=form.cleaned_data["days"])
                status = 200
            except forms.ValidationError as error:
                form.add_error(None, error)
            except PolicyError as error:
                form.add_error("source", str(error))
    chart = None
    kinds = APPROVAL_KINDS if answer is not None and answer.kind == "approval" else CHANGE_KINDS
    if answer is not None and answer.by_day:
        chart = {
            "type": "bar",
            "stacked": True,
            "labels": [row["day"] for row in answer.by_day],
            "datasets": [
                {"label": kind, "data": [row.get(kind, 0) for row in answer.by_day]}
                for kind in kinds
                if any(row.get(kind) for row in answer.by_day)
            ],
        }
    context = {
        "form": form,
        "answer": answer,
        "chart": chart,
        "kinds": kinds,
        "retention": setting("IDP_PLAN_RETENTION_DAYS"),
    }
    return render(request, "policies/whatif.html", context, status=status)
