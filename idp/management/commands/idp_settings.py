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
        width = max(len(r[0]) for r in rows)
        for variable, value, doc in rows:
            self.stdout.write(f"{variable.ljust(width)}  {value}\n{' ' * width}  {doc}")
