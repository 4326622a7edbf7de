"""One way to show an action's refusal on portal forms: beside the field it names.

Actions raise `ServiceError` with a field (or field → messages). A key names a form field
directly, or a nested value as `<group>.<name>` (`parameters.replicas`, `options.python`):
that goes to the field `<name>` (after the form's own prefix for the group, when it has
one) or, failing that, to a field named like the group. Anything else lands at the top of
the first form. Several forms can share one refusal (a request form and its parameters).
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms

from .services import ServiceError


def _place(
    key: str, forms_: list[forms.Form], prefixes: dict[str, str]
) -> tuple[forms.Form, str | None, str]:
    """(form, field or None for the top, a prefix naming the value when it is not obvious)."""
    group, _, name = key.partition(".")
    if not name:
        candidates = [(key, "")]
    else:
        candidates = [(prefixes.get(group, "") + name, ""), (name, ""), (group, f"{name}: ")]
    for candidate, label in candidates:
        for form in forms_:
            if candidate in form.fields:
                return form, candidate, label
    return forms_[0], None, (f"{key}: " if name else "")


def add_service_error(
    error: ServiceError,
    *forms_: forms.Form,
    prefixes: dict[str, str] | None = None,
    skip: Iterable[str] = (),
) -> None:
    """Add the refusal's messages to the forms; `skip` leaves out fields that already show
    an error of their own (their form said it first)."""
    errors = error.errors or {error.field or "": [error.message]}
    skipped = set(skip)
    for key, messages in errors.items():
        form, field, label = _place(key, list(forms_), prefixes or {})
        if field is not None and field in skipped:
            continue
        for message in messages:
            form.add_error(field, f"{label}{message}")
