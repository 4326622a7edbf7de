"""The portal's form to start a fleet upgrade: it parses text into lists; the action rules."""

from __future__ import annotations

from typing import Any

from django import forms

from catalog.models import Template

from .actions.start import SELECTION_KINDS


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class FleetStartForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=Template.objects.order_by("slug"), to_field_name="slug"
    )
    version = forms.CharField(required=False, help_text="Version number; empty: the current one")
    kind = forms.ChoiceField(
        label="Select", choices=[(k, k.title()) for k in SELECTION_KINDS], initial="all"
    )
    teams = forms.CharField(required=False, help_text="Team slugs, comma-separated")
    environments = forms.CharField(required=False, help_text="Environment slugs, comma-separated")
    resources = forms.CharField(required=False, help_text="Resource ids, comma-separated")
    waves = forms.CharField(
        required=False,
        help_text="Waves of environments: `sandbox, dev; staging; prod`. Empty: one wave per "
        "environment in their order",
    )
    percentages = forms.CharField(
        required=False, help_text="Or waves by cumulative percentage: `10, 50, 100`"
    )
    parallelism = forms.IntegerField(initial=10, min_value=1, max_value=100)
    failure_threshold = forms.IntegerField(
        initial=0,
        min_value=0,
        max_value=100,
        help_text="Pause when more than this % of a wave's applies failed",
    )
    auto_apply = forms.BooleanField(
        required=False, initial=True, help_text="Start the waves as soon as every plan finished"
    )

    def clean_resources(self) -> list[Any]:
        return list(_names(self.cleaned_data.get("resources") or ""))

    def clean_percentages(self) -> list[int]:
        try:
            return [int(p) for p in _names(self.cleaned_data.get("percentages") or "")]
        except ValueError:
            raise forms.ValidationError("Whole numbers, comma-separated") from None

    def action_arguments(self) -> dict[str, Any]:
        """The form's values as `start_fleet_upgrade` takes them."""
        data = self.cleaned_data
        kind = data["kind"]
        selection: dict[str, Any] = {"kind": kind}
        if kind == "team":
            selection["teams"] = _names(data.get("teams") or "")
        elif kind == "environment":
            selection["environments"] = _names(data.get("environments") or "")
        elif kind == "resources":
            selection["resources"] = data["resources"]
        waves = [_names(w) for w in (data.get("waves") or "").split(";") if w.strip()]
        return {
            "template": data["template"],
            "version": data.get("version") or None,
            "selection": selection,
            "waves": waves or None,
            "percentages": data.get("percentages") or None,
            "parallelism": data.get("parallelism"),
            "failure_threshold": data.get("failure_threshold"),
            "auto_apply": bool(data.get("auto_apply")),
        }
