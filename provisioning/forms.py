"""Portal forms for day-2 actions; the request form itself lives in the catalog."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from catalog.models import TemplateVersion

from .models import Resource


class DecisionForm(forms.Form):
    """A decision names the plan run its author looked at (a hidden field of the page)."""

    plan_run = forms.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput
    )


class RejectForm(DecisionForm):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Tell the requester why; it is kept with the decision.",
    )


class BreakGlassForm(DecisionForm):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this cannot wait for a second person; it is audited.",
    )


class OverridePolicyForm(DecisionForm):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this plan may pass the policies it fails; it is audited and shown.",
    )


class ApproveForm(DecisionForm):
    reason = forms.CharField(
        max_length=2000, required=False, widget=forms.TextInput(), label="Note (optional)"
    )


class UpgradeForm(forms.Form):
    version = forms.TypedChoiceField(coerce=int, label="Template version")

    def __init__(self, *args: Any, resource: Resource, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        versions = TemplateVersion.objects.filter(template_id=resource.template_id).only(
            "number", "label", "template_id"
        )
        cast(forms.TypedChoiceField, self.fields["version"]).choices = [
            (
                v.number,
                v.display + (" (current pin)" if v.pk == resource.template_version_id else ""),
            )
            for v in versions.order_by("-number")
        ]


class JSONParametersForm(forms.Form):
    """Parameters as one JSON object, used when the catalog offers no schema form builder."""

    parameters = forms.JSONField(
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="A JSON object of every parameter; sensitive values are never shown.",
    )

    def __init__(self, *args: Any, resource: Resource | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def clean_parameters(self) -> dict[str, Any]:
        value = self.cleaned_data["parameters"]
        if not isinstance(value, dict):
            raise forms.ValidationError('Give a JSON object: {"name": value, …}.')
        return value

    def new_parameters(self) -> dict[str, Any]:
        return dict(self.cleaned_data["parameters"])
