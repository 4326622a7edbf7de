"""The portal's form to start a fleet upgrade: filters chosen from the database (template,
target and current versions, teams, environments, tags); the action owns the rules."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from catalog.models import Template, TemplateVersion
from idp.models import Environment, Team
from idp.rbac import team_ids
from provisioning.choices import RESOURCE_GONE
from provisioning.models import Resource

from .actions.start import TAG_PARAMETERS

# How many resources are read for the tag suggestions (a hint, never the rule).
TAG_SAMPLE = 500


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class ActionChoice(forms.ChoiceField):
    """A select whose choices come from the database; a value outside them is left to the
    action, which refuses it with its own message (and the same one the API gives)."""

    def valid_value(self, value: Any) -> bool:
        return True


class ActionChoices(forms.MultipleChoiceField):
    """Checkboxes whose choices come from the database; the action checks the values."""

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value: Any) -> bool:
        return True


def version_choices(template: Template | None) -> list[tuple[str, str]]:
    """The template's versions, newest first, by the name people use (`display`)."""
    if template is None:
        return []
    versions = TemplateVersion.objects.filter(template=template).order_by("-sort_key", "-number")
    return [(str(v.number), v.display) for v in versions.only("number", "label")]


def known_tags(template: Template | None, teams: list[int] | None) -> list[str]:
    """`key=value` pairs found in the tags/labels of the template's live resources."""
    if template is None:
        return []
    rows = Resource.objects.filter(template=template, archived_at__isnull=True).exclude(
        status__in=RESOURCE_GONE
    )
    if teams is not None:
        rows = rows.filter(team_id__in=teams)
    found: set[str] = set()
    for parameters in rows.values_list("parameters", flat=True)[:TAG_SAMPLE]:
        for name in TAG_PARAMETERS:
            values = parameters.get(name) if isinstance(parameters, dict) else None
            if isinstance(values, dict):
                found.update(f"{k}={v}" for k, v in values.items() if isinstance(v, str))
    return sorted(found)


class FleetStartForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=Template.objects.order_by("slug"), to_field_name="slug", empty_label=None
    )
    version = ActionChoice(label="Upgrade to", required=False)
    from_versions = ActionChoices(
        label="Now on",
        required=False,
        help_text="Only resources running one of these versions; none ticked: any version",
    )
    teams = ActionChoices(required=False, help_text="None ticked: every team you may maintain")
    environments = ActionChoices(required=False, help_text="None ticked: every environment")
    tags = forms.CharField(
        required=False,
        help_text="key=value pairs the resource's tags or labels hold, comma-separated",
        widget=forms.TextInput(attrs={"list": "fleet-tags", "autocomplete": "off"}),
    )
    waves = forms.CharField(
        required=False,
        help_text="Waves of environments, a semicolon between waves and a comma within one "
        "(sandbox, dev; staging; prod). Empty: one wave per environment in their order",
    )
    percentages = forms.CharField(
        required=False, help_text="Or waves by cumulative percentage, e.g. 10, 50, 100"
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

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chosen_template = self._template()
        versions = version_choices(self.chosen_template)
        current = getattr(self.chosen_template, "current_version", None)
        current_name = f"the current one ({current.display})" if current else "the current one"
        self._choices("version", [("", current_name), *versions])
        self._choices("from_versions", versions)
        maintained = team_ids(user, "maintain_team")
        teams = Team.objects.order_by("slug")
        if maintained is not None:
            teams = teams.filter(pk__in=maintained)
        self._choices("teams", [(t.slug, t.name or t.slug) for t in teams])
        environments = Environment.objects.order_by("order", "slug")
        self._choices("environments", [(e.slug, e.name or e.slug) for e in environments])
        self.tag_suggestions = known_tags(self.chosen_template, maintained)

    def _choices(self, name: str, choices: list[tuple[str, str]]) -> None:
        cast(forms.ChoiceField, self.fields[name]).choices = choices

    def _template(self) -> Template | None:
        """The template the choices are for: the one submitted, else the first."""
        slug = (self.data or {}).get("template") or self.initial.get("template")
        queryset = Template.objects.order_by("slug")
        return queryset.filter(slug=str(slug or "")).first() or queryset.first()

    def clean_percentages(self) -> list[int]:
        try:
            return [int(p) for p in _names(self.cleaned_data.get("percentages") or "")]
        except ValueError:
            raise forms.ValidationError("Whole numbers, comma-separated") from None

    def selection(self) -> dict[str, Any]:
        """The filters as the action's selection: each one given narrows it."""
        data = self.cleaned_data
        selection: dict[str, Any] = {"kind": "all"}
        for key in ("teams", "environments", "from_versions"):
            if data.get(key):
                selection[key] = list(data[key])
        if tags := _names(data.get("tags") or ""):
            selection["tags"] = tags
        return selection

    def action_arguments(self) -> dict[str, Any]:
        """The form's values as `start_fleet_upgrade` takes them."""
        data = self.cleaned_data
        waves = [_names(w) for w in (data.get("waves") or "").split(";") if w.strip()]
        return {
            "template": data["template"],
            "version": data.get("version") or None,
            "selection": self.selection(),
            "waves": waves or None,
            "percentages": data.get("percentages") or None,
            "parallelism": data.get("parallelism"),
            "failure_threshold": data.get("failure_threshold"),
            "auto_apply": bool(data.get("auto_apply")),
        }
