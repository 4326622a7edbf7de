"""Portal: import a catalog-info.yaml (paste or upload), preview it as a dry run, then import."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from ..services import entities
from ..services.entities.validation import MAX_CONTENT


class ImportForm(forms.Form):
    content = forms.CharField(
        required=False,
        strip=False,
        max_length=MAX_CONTENT,
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false", "class": "mono"}),
        label="catalog-info.yaml",
        help_text="One or more YAML documents in Backstage's descriptor format.",
    )
    file = forms.FileField(required=False, label="…or upload a file")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            if upload.size > MAX_CONTENT:
                raise forms.ValidationError(f"The file is larger than {MAX_CONTENT} bytes.")
            try:
                data["content"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.") from None
        if not (data.get("content") or "").strip():
            raise forms.ValidationError("Paste a catalog-info.yaml or choose a file.")
        return data


@login_required
def entity_import(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST `preview`: a dry run shown as a table; POST `import`: the import."""
    report = None
    status = 200
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        dry_run = "import" not in request.POST
        report = entities.import_entities(
            form.cleaned_data["content"], actor=request.user, dry_run=dry_run
        )
        if report.errors:
            status = 400
        elif report.refused:
            status = 403
        elif report.written:
            messages.success(
                request,
                f"Imported: {len(report.created)} created, {len(report.changed)} changed, "
                f"{len(report.unchanged)} unchanged.",
            )
            # The result is shown, not redirected to: importing the same text again is
            # harmless (everything answers "unchanged").
        # The text stays in the box (an uploaded file's too) for the next step.
        form = ImportForm(initial={"content": form.cleaned_data["content"]})
    elif request.method == "POST":
        status = 400
    rows = [(item, _entity_url(item.ref)) for item in report.items] if report else []
    return render(
        request,
        "catalog/entity_import.html",
        {"form": form, "report": report, "rows": rows},
        status=status,
    )


def _entity_url(ref: str) -> str:
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    try:
        return reverse("catalog:entity_detail", args=[kind, namespace, name])
    except NoReverseMatch:
        return ""
