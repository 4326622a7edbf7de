"""Portal pages: pipeline list, create with a live preview, detail with live runs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from catalog.models import Service
from idp import github_client
from idp.form_errors import add_service_error
from idp.paginator import CountCachingPaginator
from idp.rbac import has_team_perm
from idp.services import ServiceError

from . import services
from .choices import DELIVERY_ACTIVE, RUN_ACTIVE
from .forms import OPTION_PREFIX, PipelineForm
from .models import Pipeline


def _service(request: HttpRequest, slug: str | None) -> Service:
    service = (
        Service.objects.for_user(request.user).select_related("team").filter(slug=slug).first()
        if slug
        else None
    )
    if service is None:
        raise Http404("No such service")
    return service


@login_required
def pipeline_list(request: HttpRequest) -> HttpResponse:
    qs = Pipeline.objects.for_user(request.user).select_related("service__team")
    service = request.GET.get("service")
    if service:
        qs = qs.filter(service__slug=service)
    page = CountCachingPaginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "pipelines/pipeline_list.html", {"page": page, "service": service})


def _preview_context(service: Service, form: PipelineForm) -> dict[str, Any]:
    if not form.is_valid():
        return {"form": form}
    try:
        result = services.preview(
            service,
            form.cleaned_data["template"],
            form.cleaned_data["environments"],
            form.options(),
        )
    except ServiceError as exc:
        add_service_error(exc, form, prefixes={"options": OPTION_PREFIX})
        return {"form": form}
    return {
        "form": form,
        "preview": result,
        "lines": _numbered(result.yaml, result.findings),
        "yaml_text": result.yaml,
        "yaml_filename": f"{form.cleaned_data.get('slug') or form.cleaned_data['template']}.yml",
    }


def _github_context() -> dict[str, Any]:
    """Whether delivery to GitHub can work, and what to do when it cannot."""
    configured = github_client.configured()
    return {
        "github_configured": configured,
        "github_help": "" if configured else github_client.NOT_CONFIGURED,
    }


def _numbered(text: str, findings: list[Any]) -> list[dict[str, Any]]:
    """The YAML as numbered lines, each with the findings that point at it."""
    by_line: dict[int, list[Any]] = {}
    for finding in findings:
        by_line.setdefault(int(finding["line"]), []).append(finding)
    return [
        {"number": n, "text": line, "findings": by_line.get(n, [])}
        for n, line in enumerate(text.splitlines(), start=1)
    ]


@login_required
def pipeline_create(request: HttpRequest) -> HttpResponse:
    """GET: the form (?service=<slug>); POST: create, and deliver when asked."""
    service = _service(request, request.GET.get("service") or request.POST.get("service"))
    can_create = has_team_perm(request.user, service.team, "maintain_team")
    template = request.POST.get("template") or request.GET.get("template")
    form = PipelineForm(request.POST or None, template=template)
    context: dict[str, Any] = {
        "service": service,
        "form": form,
        "can_create": can_create,
        **_github_context(),
    }
    if request.method == "POST" and form.is_valid():
        try:
            pipeline = services.create_pipeline(
                service,
                template=form.cleaned_data["template"],
                environments=form.cleaned_data["environments"],
                options=form.options(),
                slug=form.cleaned_data.get("slug") or "",
                actor=request.user,
                deliver=bool(request.POST.get("deliver")),
            )
        except ServiceError as exc:
            add_service_error(exc, form, prefixes={"options": OPTION_PREFIX})
            return render(request, "pipelines/pipeline_form.html", context, status=400)
        messages.success(request, f"Pipeline {pipeline.slug} created.")
        return redirect(pipeline)
    if request.method == "POST":
        return render(request, "pipelines/pipeline_form.html", context, status=400)
    return render(request, "pipelines/pipeline_form.html", context)


@login_required
@require_POST
def pipeline_preview(request: HttpRequest) -> HttpResponse:
    """The htmx partial: the YAML with line numbers and the check results."""
    service = _service(request, request.POST.get("service"))
    form = PipelineForm(request.POST, template=request.POST.get("template"))
    return render(
        request, "pipelines/_preview.html", {"service": service, **_preview_context(service, form)}
    )


def _pipeline(request: HttpRequest, pk: int) -> Pipeline:
    return get_object_or_404(
        Pipeline.objects.for_user(request.user).select_related("service__team", "created_by"),
        pk=pk,
    )


def _runs_context(pipeline: Pipeline) -> dict[str, Any]:
    runs = list(pipeline.runs.all()[:100])
    latest: dict[str, Any] = {}
    for run in runs:
        latest.setdefault(run.environment, run)
    environments = [{"slug": env, "run": latest.get(env)} for env in pipeline.environments]
    live = pipeline.delivery_state in DELIVERY_ACTIVE or any(r.status in RUN_ACTIVE for r in runs)
    return {
        "pipeline": pipeline,
        "environments": environments,
        "runs": runs[:30],
        "checks_run": latest.get(""),
        "live": live,
    }


@login_required
def pipeline_detail(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = _pipeline(request, pk)
    context = {
        **_runs_context(pipeline),
        **_github_context(),
        "can_deliver": has_team_perm(request.user, pipeline.service.team, "maintain_team"),
        "lines": _numbered(pipeline.yaml, pipeline.findings),
        "yaml_text": pipeline.yaml,
        "yaml_filename": _filename(pipeline),
        "download_url": reverse("pipelines:pipeline_workflow", args=[pipeline.pk]),
    }
    return render(request, "pipelines/pipeline_detail.html", context)


def _filename(pipeline: Pipeline) -> str:
    return pipeline.workflow_path.rsplit("/", 1)[-1] or f"{pipeline.slug}.yml"


@login_required
def pipeline_workflow(request: HttpRequest, pk: int) -> HttpResponse:
    """The generated workflow as a file download (whoever sees the pipeline)."""
    pipeline = _pipeline(request, pk)
    response = HttpResponse(pipeline.yaml, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(pipeline)}"'
    return response


@login_required
def pipeline_runs(request: HttpRequest, pk: int) -> HttpResponse:
    """The htmx partial polled while a delivery or a run is in progress."""
    return render(request, "pipelines/_runs.html", _runs_context(_pipeline(request, pk)))


@login_required
@require_POST
def pipeline_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = _pipeline(request, pk)
    if not has_team_perm(request.user, pipeline.service.team, "maintain_team"):
        team = pipeline.service.team
        raise PermissionDenied(f"Only maintainers and admins of {team.name} deliver its pipelines.")
    try:
        services.request_delivery(pipeline, actor=request.user)
        messages.success(request, "Delivery queued: the pull request appears here when it is open.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(pipeline)


def _initial(pipeline: Pipeline) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "template": pipeline.template,
        "slug": pipeline.slug,
        "environments": pipeline.environments,
    }
    for name, value in pipeline.options.items():
        initial[OPTION_PREFIX + name] = ", ".join(value) if isinstance(value, list) else value
    return initial


@login_required
def pipeline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change environments or options; regenerates, and re-delivers to the same PR when asked."""
    pipeline = _pipeline(request, pk)
    service = pipeline.service
    if not has_team_perm(request.user, service.team, "maintain_team"):
        raise PermissionDenied(
            f"Only maintainers and admins of {service.team.name} change its pipelines."
        )
    data = request.POST.copy() if request.method == "POST" else None
    if data is not None:
        data["template"] = pipeline.template  # the template of a pipeline does not change
    form = PipelineForm(data, template=pipeline.template, initial=_initial(pipeline))
    context = {
        "service": service,
        "form": form,
        "can_create": True,
        "pipeline": pipeline,
        **_github_context(),
    }
    if request.method != "POST":
        return render(request, "pipelines/pipeline_form.html", context)
    if form.is_valid():
        try:
            pipeline = services.regenerate_pipeline(
                pipeline,
                environments=form.cleaned_data["environments"],
                options=form.options(),
                actor=request.user,
            )
            if request.POST.get("deliver") and not pipeline.findings:
                services.request_delivery(pipeline, actor=request.user)
        except ServiceError as exc:
            add_service_error(exc, form, prefixes={"options": OPTION_PREFIX})
        else:
            messages.success(request, f"Pipeline {pipeline.slug} regenerated.")
            return redirect(pipeline)
    return render(request, "pipelines/pipeline_form.html", context, status=400)
