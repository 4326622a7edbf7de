"""`manage.py test_policy POLICY PLAN.json`: try one policy on a plan, as a plan would meet it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies.approval_rules import evaluate_rules
from policies.choices import Level, PolicyKind
from policies.engine import PolicyError, Source, evaluate
from policies.loader import kind_of, parse_policy
from policies.models import Policy


class Command(BaseCommand):
    help = (
        "Evaluate one policy (a loaded policy's name or a .rego file) on a plan JSON file "
        "(`terraform show -json`); exit 1 when it fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("policy", help="A loaded policy's name, or a path to a .rego file")
        parser.add_argument("plan", help="A plan as JSON (`terraform show -json plan.tfplan`)")
        parser.add_argument(
            "--context",
            default="{}",
            help='`input.idp` as JSON, e.g. \'{"environment": "prod", "team": "payments"}\'',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug, package, source, version = self._policy(options["policy"])
        try:
            document = json.loads(Path(options["plan"]).read_text())
            context = json.loads(options["context"])
        except (OSError, ValueError) as error:
            raise CommandError(f"cannot read the plan or the context: {error}") from None
        if not isinstance(document, dict) or not isinstance(context, dict):
            raise CommandError("the plan and the context must be JSON objects")
        document["idp"] = {**document.get("idp", {}), **context}
        if kind_of(package) == PolicyKind.APPROVAL:
            self._approval_rule(slug, package, source, version, document)
            return
        findings = evaluate(
            slug=slug, version=version, package=package, source=source, document=document
        )
        styles: dict[str, Any] = {
            Level.FAILURE: self.style.ERROR,
            Level.WARNING: self.style.WARNING,
            Level.PASSED: self.style.SUCCESS,
        }
        for finding in findings:
            where = f" [{finding.address}]" if finding.address else ""
            label = finding.rule or "passed"
            line = f"{finding.level.upper():8} {label}{where} {finding.message}".rstrip()
            self.stdout.write(styles[finding.level](line))
        if any(f.level == Level.FAILURE for f in findings):
            raise CommandError(f"{slug} fails this plan")

    def _approval_rule(
        self, slug: str, package: str, source: str, version: int | None, document: dict[str, Any]
    ) -> None:
        """An approval rule's answer: what it requires, or that it would auto-approve."""
        answer = evaluate_rules([Source(slug, version, package, source)], document)
        for rule, message in answer.errors:
            raise CommandError(f"{rule} could not be evaluated: {message}")
        for wanted in answer.requirements:
            role = f", one {wanted.role}" if wanted.role else ""
            self.stdout.write(
                self.style.WARNING(
                    f"REQUIRE  {wanted.approvals} approval(s){role}: {wanted.reason}"
                )
            )
        for _, reason in answer.auto_approve:
            self.stdout.write(self.style.SUCCESS(f"AUTO     auto-approve: {reason}"))
        if not answer.requirements and not answer.auto_approve:
            self.stdout.write(self.style.SUCCESS("NOTHING  the rule adds nothing to this plan"))

    def _policy(self, name: str) -> tuple[str, str, str, int | None]:
        path = Path(name)
        if path.suffix == ".rego":
            try:
                parsed = parse_policy(path)
            except PolicyError as error:
                raise CommandError(str(error)) from None
            return parsed.slug, parsed.package, parsed.source, None
        policy = Policy.objects.select_related("current_version").filter(slug=name).first()
        if policy is None or policy.current_version is None:
            known = ", ".join(Policy.objects.values_list("slug", flat=True)) or "none loaded"
            raise CommandError(f"no loaded policy {name!r} (known: {known})")
        version = policy.current_version
        return policy.slug, policy.package, version.source, version.number
