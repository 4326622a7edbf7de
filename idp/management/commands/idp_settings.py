from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from idp import conf


class Command(BaseCommand):
    help = "List the platform's own settings: variable, value in force (secrets hidden), meaning."

    def handle(self, *args: Any, **options: Any) -> None:
        values = {s.name: getattr(settings, s.name) for s in conf.DECLARED}
        rows = conf.describe(values)
        from_store = set(settings.IDP_CONFIG_FROM_SSM)
        width = max(len(r[0]) for r in rows)
        for variable, value, doc in rows:
            source = "  (from Parameter Store)" if variable in from_store else ""
            self.stdout.write(f"{variable.ljust(width)}  {value}{source}\n{' ' * width}  {doc}")
        others = sorted(from_store - {r[0] for r in rows})
        if others:
            self.stdout.write("Also from Parameter Store: " + ", ".join(others))
