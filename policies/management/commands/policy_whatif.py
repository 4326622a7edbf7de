"""`manage.py policy_whatif FILE [--days 30]`: replay a draft policy on the stored plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies.engine import PolicyError
from policies.whatif import MAX_DAYS, what_if


class Command(BaseCommand):
    help = (
        "Replay a draft policy (.rego with its # METADATA) against the plans of the last days "
        "and say whom it would have blocked or warned, before it is enabled. Nothing is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The draft policy, a .rego file")
        parser.add_argument("--days", type=int, default=30, help="How far back (default 30)")
        parser.add_argument("--json", action="store_true", help="The whole answer as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not 1 <= options["days"] <= MAX_DAYS:
            raise CommandError(f"--days takes 1 to {MAX_DAYS}")
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read {path}: {error}") from None
        try:
            answer = what_if(source, name=path.name, days=options["days"])
        except PolicyError as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(answer.as_json(), indent=2))
            return
        verb = "in place of the policy in force" if answer.replaces else "as a new policy"
        self.stdout.write(
            f"{answer.policy} ({answer.enforcement}) {verb}, on {answer.plans} plans of the "
            f"last {answer.days} days in {answer.seconds:.1f} s:"
        )
        if answer.kind == "approval":
            self.stdout.write(
                f"  needs more approvals {answer.more_approvals}, fewer "
                f"{answer.fewer_approvals}, newly auto-approved {answer.newly_auto_approved}, "
                f"no longer auto-approved {answer.no_longer_auto_approved}, unchanged "
                f"{answer.unchanged}"
            )
        else:
            self.stdout.write(
                f"  newly blocked {answer.newly_blocked}, no longer blocked "
                f"{answer.no_longer_blocked}, newly warned {answer.newly_warned}, unchanged "
                f"{answer.unchanged}"
                + (f", not evaluable {answer.errors}" if answer.errors else "")
            )
        for team, counts in answer.by_team.items():
            line = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            self.stdout.write(f"  team {team}: {line}")
        for item in answer.changed[:20]:
            first = item.messages[0] if item.messages else ""
            self.stdout.write(
                f"  run {item.run} {item.team}/{item.environment}/{item.name}: {item.change}"
                + (f" ({first})" if first else "")
            )
