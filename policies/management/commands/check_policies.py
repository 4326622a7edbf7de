"""`manage.py check_policies`: every policy file loads, and no shipped module breaks a
mandatory policy (run by `make lint`; needs no database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies.engine import PolicyError
from policies.loader import ParsedPolicy, parse_policy, policy_dirs, policy_files
from policies.static import check_modules


class Command(BaseCommand):
    help = (
        "Parse every policy and evaluate them on the shipped Terraform modules (statically, "
        "from their HCL); exit 1 on a broken policy or a mandatory failure."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--modules",
            default=str(Path(settings.BASE_DIR) / "terraform_modules"),
            help="The folder of modules to check (default: the shipped terraform_modules/)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        policies: list[ParsedPolicy] = []
        broken = []
        for origin, folder in policy_dirs():
            for path in policy_files(folder):
                try:
                    policies.append(parse_policy(path, origin=origin, root=folder))
                except PolicyError as error:
                    broken.append(str(error))
        for message in broken:
            self.stderr.write(self.style.ERROR(f"broken policy  {message}"))
        findings = check_modules(Path(options["modules"]), policies)
        for f in findings:
            style = self.style.ERROR if f.blocking else self.style.WARNING
            label = "FAIL" if f.blocking else "warn"
            self.stdout.write(
                style(f"{label} {f.module} ({f.environment}) {f.policy}: {f.message}")
            )
        failing = [f for f in findings if f.blocking]
        self.stdout.write(
            f"{len(policies)} policies on the modules in {options['modules']}: "
            f"{len(failing)} mandatory failure(s), {len(findings) - len(failing)} other finding(s)"
        )
        if broken or failing:
            raise CommandError(
                f"{len(broken)} broken policy file(s), {len(failing)} mandatory failure(s)"
            )
