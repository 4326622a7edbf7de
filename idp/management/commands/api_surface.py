"""`manage.py api_surface [--write]`: what the API's schema removed or added since recorded."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from idp.api import surface


class Command(BaseCommand):
    help = (
        "Compare the API schema with the recorded surface (idp/api/surface-v1.json): a removal "
        "needs a deprecation first (docs/api.md); --write records the current surface."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--write", action="store_true", help="record the current surface")

    def handle(self, *args: Any, write: bool = False, **options: Any) -> None:
        current = surface.surface(surface.current_schema())
        removed, unrecorded = surface.compare(surface.recorded(), current)
        for line in removed:
            self.stdout.write(f"removed: {line}")
        for line in unrecorded:
            self.stdout.write(f"not recorded: {line}")
        if removed and write:
            raise CommandError(
                f"{len(removed)} removal(s) without a deprecation: deprecate first "
                "(idp/api/deprecation.py), or keep them"
            )
        if write:
            surface.write(current)
            self.stdout.write(f"recorded {len(current['operations'])} operations")
        elif not removed and not unrecorded:
            self.stdout.write("the API surface matches the recorded one")
