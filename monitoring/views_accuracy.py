"""The accuracy page: estimates checked against Cost Explorer actuals, per template."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from idp.models import Team

from . import dashboards
from .services import accuracy


def _blank(value: float | None) -> float | str:
    # A month without figures for a template: a gap in the chart, an empty table cell.
    return "" if value is None else value


@login_required
def cost_accuracy(request: HttpRequest) -> HttpResponse:
    """The error per template (MAPE) of your teams' resources, the resources far off, and
    the error over time; with the correction on, the corrected figures beside them."""
    team = None
    if request.GET.get("team"):
        team = get_object_or_404(Team.objects.for_user(request.user), slug=request.GET["team"])
    template = request.GET.get("template") or None
    report = accuracy.accuracy_report(accuracy.visible(request.user, team=team, template=template))
    rows = [
        {
            "month": month,
            **{s["template"]: _blank(s["points"][i]["mape"]) for s in report["series"]},
        }
        for i, month in enumerate(report["months"])
    ]
    columns = ["month", *[s["template"] for s in report["series"]]]
    chart = dashboards.chart(
        "accuracy", "Estimate error per template by month (MAPE, %)", rows, columns
    )
    return render(
        request,
        "monitoring/accuracy.html",
        {
            "report": report,
            "chart": chart,
            "team": team,
            "template": template,
            "teams": Team.objects.for_user(request.user).order_by("slug"),
        },
    )
