from __future__ import annotations

from typing import Any

from django import forms

from .choices import ThresholdKind


class BudgetForm(forms.Form):
    """A team's monthly budget; thresholds as "80 actual, 100 actual, 100 forecast"."""

    monthly_amount = forms.CharField(label="Monthly amount (USD)", max_length=20)
    thresholds = forms.CharField(
        max_length=200,
        initial="80 actual, 100 actual, 100 forecast",
        help_text="Percent and kind (actual or forecast), comma separated.",
    )

    def clean_thresholds(self) -> list[dict[str, Any]]:
        items = []
        for part in self.cleaned_data["thresholds"].split(","):
            words = part.split()
            if not words:
                continue
            kind = words[1] if len(words) > 1 else ThresholdKind.ACTUAL
            try:
                percent = int(words[0].rstrip("%"))
            except ValueError:
                raise forms.ValidationError(f"{part.strip()!r}: start with a percent.") from None
            items.append({"percent": percent, "kind": kind})
        return items


def thresholds_text(thresholds: list[dict[str, Any]]) -> str:
    return ", ".join(f"{t['percent']} {t['kind']}" for t in thresholds)
