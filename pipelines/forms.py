"""Portal forms: the pipeline form builds one field per option from the template's schema."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from idp.models import Environment

from .choices import PipelineTemplate
from .generation import options_schema

OPTION_PREFIX = "opt_"


def _option_field(name: str, prop: dict[str, Any]) -> forms.Field:
    label = prop.get("title", name.replace("_", " ").capitalize())
    default = prop.get("default")
    help_text = prop.get("description", "")
    if prop.get("type") == "array":
        shown = ", ".join(default) if default else ""
        return forms.CharField(
            label=label,
            required=False,
            initial=shown,
            help_text=(help_text + " (comma-separated)").strip(),
        )
    if "enum" in prop:
        return forms.ChoiceField(
            label=label,
            required=False,
            initial=default,
            choices=[(v, v) for v in prop["enum"]],
            help_text=help_text,
        )
    placeholder = "" if default is None else str(default)
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.TextInput(attrs={"placeholder": placeholder}),
    )


class PipelineForm(forms.Form):
    """Template, environments, and the template's options (blank = the default)."""

    template = forms.ChoiceField(choices=PipelineTemplate.choices)
    environments = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    slug = forms.SlugField(
        required=False,
        max_length=50,
        help_text="Names the workflow file and branch; default: the template",
    )

    def __init__(self, *args: Any, template: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        envs = list(Environment.objects.all())
        environments = cast(forms.MultipleChoiceField, self.fields["environments"])
        environments.choices = [(e.slug, e.name or e.slug) for e in envs]
        self.fields["environments"].initial = [e.slug for e in envs]
        self.template_slug = template if template in PipelineTemplate.values else "python"
        self.fields["template"].initial = self.template_slug
        self.schema = options_schema(self.template_slug)
        for name, prop in self.schema["properties"].items():
            self.fields[OPTION_PREFIX + name] = _option_field(name, prop)

    @property
    def option_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if name.startswith(OPTION_PREFIX)]

    def options(self) -> dict[str, Any]:
        """The options the user set; blank ones fall back to their defaults."""
        result: dict[str, Any] = {}
        for name, prop in self.schema["properties"].items():
            value = self.cleaned_data.get(OPTION_PREFIX + name)
            if value is None or value == "":
                continue
            if prop.get("type") == "array":
                result[name] = [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]
            else:
                result[name] = value.strip() if isinstance(value, str) else value
        return result
