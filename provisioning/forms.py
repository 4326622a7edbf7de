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


class AccessForm(forms.Form):
    """Who may act on one resource and which teams see it: choices, never typed names; the
    action (`set_access`) owns the rules."""

    restricted = forms.BooleanField(
        required=False,
        label="Restrict this resource",
        help_text="Changes, approvals and destroys need the role below or a person named",
    )
    restricted_role = forms.ChoiceField(
        required=False,
        label="Role floor",
        choices=[
            ("", "Only the people named"),
            ("maintainer", "Maintainers and admins"),
            ("admin", "Admins"),
        ],
    )
    restricted_users = forms.MultipleChoiceField(
        required=False, label="People named", widget=forms.CheckboxSelectMultiple
    )
    shared_read = forms.MultipleChoiceField(
        required=False,
        label="Share read-only with",
        widget=forms.CheckboxSelectMultiple,
        help_text="They see the resource, its outputs and runs; nothing else of your team's",
    )
    shared_use = forms.MultipleChoiceField(
        required=False,
        label="Share for use as a dependency with",
        widget=forms.CheckboxSelectMultiple,
        help_text="They also take its outputs as a parameter of their own resources",
    )

    def __init__(self, *args: Any, members: list[str], teams: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["restricted_users"]).choices = [
            (m, m) for m in members
        ]
        for name in ("shared_read", "shared_use"):
            cast(forms.MultipleChoiceField, self.fields[name]).choices = [(t, t) for t in teams]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        both = set(data.get("shared_read") or []) & set(data.get("shared_use") or [])
        if both:
            self.add_error("shared_use", f"Choose one level for {', '.join(sorted(both))}")
        return data

    def access(self) -> dict[str, Any]:
        """The form's values as `set_access` takes them."""
        data = self.cleaned_data
        restricted_to = (
            {"role": data.get("restricted_role") or None, "users": data["restricted_users"]}
            if data.get("restricted")
            else None
        )
        shares = [{"team": t, "level": "read"} for t in data.get("shared_read") or []]
        shares += [{"team": t, "level": "use"} for t in data.get("shared_use") or []]
        return {"restricted_to": restricted_to, "shared_with": shares}
