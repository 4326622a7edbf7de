"""Portal forms: the request form built from a template's JSON Schema, and the service form."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, cast

from django import forms

from idp.models import Environment, Team
from idp.templatetags.values import to_json_text

from . import sensitivity
from .choices import SourceRefType, VersionStatus
from .models import Service, TemplateVersion
from .services.schema import is_reference, resource_ref


def base_type(prop: dict[str, Any]) -> str | None:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind


class JSONTextField(forms.CharField):
    """A JSON value typed into a textarea; parse errors are shown by the field."""

    def __init__(self, *, json_type: str | None = None, **kwargs: Any):
        self.json_type = json_type
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, (dict, list)):
            return json.dumps(value, indent=2)
        return value

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if text is None or text in self.empty_values:
            return None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from None
        expected = {"object": dict, "array": list}.get(self.json_type or "")
        if expected is not None and not isinstance(parsed, expected):
            raise forms.ValidationError(
                'Enter a JSON object, e.g. {"key": "value"}'
                if expected is dict
                else 'Enter a JSON list, e.g. ["a", "b"]'
            )
        return parsed


def _coerce(kind: str | None) -> Any:
    if kind == "integer":
        return int
    if kind == "number":
        return float
    return str


def parameter_field(prop: dict[str, Any], required: bool) -> forms.Field:
    """One form field for one schema property: types -> widgets, enums -> select."""
    kind = base_type(prop)
    help_parts = [prop.get("description", ""), prop.get("x-help", "")]
    common: dict[str, Any] = {
        "label": prop.get("title"),
        "required": required and kind != "boolean",
        "help_text": " ".join(p for p in help_parts if p),
        "initial": prop.get("default"),
    }
    if "enum" in prop:
        choices = [(v, to_json_text(v)) for v in prop["enum"]]
        if not required:
            choices = [("", "—"), *choices]
        return forms.TypedChoiceField(
            choices=choices, coerce=_coerce(kind), empty_value=None, **common
        )
    if kind == "boolean":
        return forms.BooleanField(**common)
    if kind == "integer":
        return forms.IntegerField(**common)
    if kind == "number":
        return forms.FloatField(**common)
    if kind == "string":
        attrs = {"placeholder": prop["x-placeholder"]} if prop.get("x-placeholder") else {}
        if sensitivity.is_sensitive(prop):
            # Secrets are never sent back to the browser, not even on a re-shown form.
            common["initial"] = None
            return forms.CharField(
                widget=forms.PasswordInput(render_value=False, attrs=attrs),
                strip=False,
                **common,
            )
        return forms.CharField(widget=forms.TextInput(attrs=attrs), strip=False, **common)
    return JSONTextField(json_type=kind, **common)


# The select beside a parameter that may take another resource's output: `<name>__resource`.
RESOURCE_SUFFIX = "__resource"


# The resources a user may pick for a parameter taking an output of a template's resources
# (given the template's slug): provisioning's, bound to the user by the view that builds the form.
Candidates = Callable[[str], Iterable[Any]]


def resource_field(
    ref: dict[str, Any], prop: dict[str, Any], required: bool, candidates: Candidates | None
) -> forms.ChoiceField:
    """A select of the user's teams' resources of the template the parameter names (the
    action checks the team, template and output, like any other input)."""
    resources = list(candidates(ref["template"])) if candidates is not None else []
    literal = ref.get("literal", True)
    empty = "— or type a value below —" if literal else "—"
    return forms.ChoiceField(
        label=f"{prop.get('title') or ''} from a {ref['template']} resource".strip(),
        required=required and not literal,
        choices=[
            ("", empty),
            *((str(r.pk), f"{r.name} ({r.team.slug}, {r.environment.slug})") for r in resources),
        ],
        help_text=f"Takes the resource's {ref['output']} output, read again at every plan.",
    )


class ParametersForm(forms.Form):
    """The parameters of a template version, built from its JSON Schema on the server.
    `candidates` offers the resources a parameter may take an output from (none without)."""

    def __init__(
        self,
        schema: dict[str, Any],
        *args: Any,
        candidates: Candidates | None = None,
        **kwargs: Any,
    ):
        kwargs.setdefault("prefix", "p")
        super().__init__(*args, **kwargs)
        self.schema = schema
        # Parameter -> the select of resources it may take an output from.
        self.selects: dict[str, str] = {}
        required = set(schema.get("required") or [])
        for name, prop in (schema.get("properties") or {}).items():
            ref = resource_ref(prop)
            if ref is not None:
                self._add_resource_field(name, ref, prop, name in required, candidates)
                if not ref.get("literal", True):
                    continue
            self.fields[name] = parameter_field(prop, name in required and ref is None)
            self.fields[name].sensitive = sensitivity.is_sensitive(prop)  # type: ignore[attr-defined]

    def _add_resource_field(
        self,
        name: str,
        ref: dict[str, Any],
        prop: dict[str, Any],
        required: bool,
        candidates: Candidates | None,
    ) -> None:
        # Only a resource allowed: the select is the parameter's field (its errors go there).
        select = name + RESOURCE_SUFFIX if ref.get("literal", True) else name
        self.selects[name] = select
        self.fields[select] = resource_field(ref, prop, required, candidates)
        current = self.initial.pop(name, None)
        if isinstance(current, dict) and is_reference(current):  # a change form's choice
            self.initial[select] = str(current.get("resource", ""))
        elif current is not None and select != name:
            self.initial[name] = current

    def parameters(self) -> dict[str, Any]:
        """Cleaned values; empty optional ones are left out so the schema defaults apply."""
        params: dict[str, Any] = {}
        chosen = {
            name: self.cleaned_data[select]
            for name, select in self.selects.items()
            if self.cleaned_data.get(select)
        }
        for name, value in self.cleaned_data.items():
            if name in chosen or name in self.selects.values():
                continue
            if value is None or (value == "" and name not in self.schema.get("required", [])):
                continue
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            params[name] = value
        for name, pk in chosen.items():
            params[name] = {"resource": int(pk) if str(pk).isdigit() else pk}
        return params


class RequestForm(forms.Form):
    """Who asks, for which service and environment, and under which name."""

    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), empty_label=None, to_field_name="slug"
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        required=False,
        empty_label="— none —",
        to_field_name="slug",
    )
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.none(), empty_label=None, to_field_name="slug"
    )
    # The naming rule, the service's team and the expiry are the provisioning action's to
    # check (the same for the API and the CLI); its refusals are shown by their fields.
    name = forms.CharField(
        max_length=200,
        help_text="Unique within the team and environment, e.g. invoices.",
    )
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires at (UTC)",
        # One text field (one Tab stop; a browser's date-time input is five), read in ISO
        # form with a space or a "T", or as a date alone (midnight).
        input_formats=["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(
            attrs={"placeholder": "2030-01-31 18:00", "size": 16},
            format="%Y-%m-%d %H:%M",
        ),
        help_text=(
            "YYYY-MM-DD HH:MM. Destroyed automatically at this time; only in environments"
            " that allow it."
        ),
    )

    def __init__(self, user: Any, version: TemplateVersion, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = Team.objects.for_user(
            user, "use_team"
        ).order_by("slug")
        cast(forms.ModelChoiceField, self.fields["service"]).queryset = (
            Service.objects.for_user(user, "use_team")
            .filter(archived=False)
            .select_related("team")
            .order_by("slug")
        )
        environments = Environment.objects.all()
        if version.allowed_environments:
            environments = environments.filter(slug__in=version.allowed_environments)
        cast(forms.ModelChoiceField, self.fields["environment"]).queryset = environments
        self.ttl_environments = [e.slug for e in environments if e.allows_ttl]
        if not self.ttl_environments:
            del self.fields["expires_at"]


# --- Template sources (platform admins) -----------------------------------------------------


class TemplateSourceForm(forms.Form):
    """A new template source. Parses only: `sources.register_source` owns every rule (its
    refusals are shown beside the field they name)."""

    url = forms.CharField(
        label="Repository URL",
        max_length=1000,
        help_text="A Git URL (https://, ssh://, git@host:path), a file:// URL or a path.",
    )
    ref_type = forms.ChoiceField(
        label="Versions from",
        choices=SourceRefType.choices,
        initial=SourceRefType.TAGS,
        help_text="Tags matching a pattern, or each new commit of one branch.",
    )
    ref_pattern = forms.CharField(
        label="Tag pattern or branch",
        max_length=200,
        required=False,
        initial="v*",
        help_text="For tags a pattern such as v*; for a branch its name (e.g. main).",
    )
    paths = forms.CharField(
        label="Sub-paths",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One folder per line, one template each; empty: the repository's root.",
    )
    signing_key = forms.CharField(
        label="Signing key",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="Optional: an armored GPG public key or SSH allowed-signers lines; only "
        "tags signed by it become versions.",
    )

    def clean_paths(self) -> list[str]:
        text = self.cleaned_data.get("paths") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class VersionStatusForm(forms.Form):
    """Deprecate, withdraw or reactivate a version (the rules are `set_version_status`'s)."""

    status = forms.ChoiceField(choices=VersionStatus.choices)
    reason = forms.CharField(required=False, max_length=2000)
