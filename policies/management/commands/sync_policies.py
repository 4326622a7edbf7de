"""`manage.py sync_policies`: load the Rego policies (policies/rego and IDP_POLICY_DIRS)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from policies.services import sync_policies


class Command(BaseCommand):
    help = "Load policies/rego/ (and IDP_POLICY_DIRS); exit 1 if any policy fails to load."

    def handle(self, *args: Any, **options: Any) -> None:
        report = sync_policies()
        for slug in report.created:
            self.stdout.write(self.style.SUCCESS(f"new version {slug}"))
        for slug in report.unchanged:
            self.stdout.write(f"unchanged   {slug}")
        for slug in report.removed:
            self.stdout.write(self.style.WARNING(f"removed     {slug}"))
        for message in report.failed.values():
            self.stderr.write(self.style.ERROR(f"failed      {message}"))
        self.stdout.write(
            f"{len(report.loaded)} loaded ({len(report.created)} new version(s)),"
            f" {len(report.removed)} removed, {len(report.failed)} failed"
        )
        if report.failed:
            raise CommandError(f"{len(report.failed)} policy file(s) failed to load")
