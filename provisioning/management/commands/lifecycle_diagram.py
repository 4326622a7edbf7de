from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from provisioning import lifecycle


class Command(BaseCommand):
    help = "Print the resource and run lifecycles as Mermaid diagrams, drawn from the table."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(lifecycle.mermaid(), ending="")
