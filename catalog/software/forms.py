"""Portal forms of the software catalog: the service form."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from catalog.choices import Lifecycle, Tier
from catalog.forms import JSONTextField
from idp.models import Team, slug_validator


class ServiceForm(forms.Form):
    """Create or edit a service (the slug is fixed once created)."""

    name = forms.CharField(max_length=200)
    slug = forms.CharField(
        max_length=63,
        required=False,
        validators=[slug_validator],
        help_text="Leave empty to derive it from the name.",
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), empty_label=None, to_field_name="slug"
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    repository_url = forms.URLField(required=False, assume_scheme="https")
    lifecycle = forms.ChoiceField(choices=Lifecycle.choices, initial=Lifecycle.EXPERIMENTAL)
    tier = forms.TypedChoiceField(choices=Tier.choices, coerce=int, initial=Tier.STANDARD)
    links = JSONTextField(
        json_type="array",
        required=False,
        help_text='A JSON list, e.g. [{"title": "Runbook", "url": "https://…"}]',
    )
    tags = forms.CharField(required=False, help_text="Comma-separated")

    def __init__(self, user: Any, *args: Any, editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = Team.objects.for_user(
            user, "maintain_team"
        ).order_by("slug")
        if editing:
            del self.fields["slug"]

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]

    def clean_links(self) -> list[Any]:
        return self.cleaned_data.get("links") or []
