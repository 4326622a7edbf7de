"""Demo data for `make run`: teams, users, environments and services. Idempotent.

With `--activity` it adds what happens in them (costs, budgets, metrics, a pipeline's runs,
resources planned and applied by the worker, a drifted one, one awaiting approval): see
`config.demo`. That part needs the local AWS API, a worker and the portal running; `make run`
starts it once they are up.
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from catalog.models import Service
from catalog.software.services.components import create_service
from idp import services
from idp.choices import Role
from idp.conf import setting
from idp.models import Team

TEAMS = {
    "platform": ("Platform", "Runs the IDP, owns the shared templates."),
    "payments": ("Payments", "Card payments, refunds and payouts."),
    "search": ("Search", "Product search and recommendations."),
}
USERS = [
    # username, email, team, role, platform admin
    ("alice", "alice@example.com", "payments", Role.MEMBER, False),
    ("bob", "bob@example.com", "payments", Role.MAINTAINER, False),
    ("dave", "dave@example.com", "payments", Role.ADMIN, False),
    ("carol", "carol@example.com", "search", Role.MEMBER, False),
    ("admin", "admin@example.com", "platform", Role.ADMIN, True),
]
SERVICES = [
    ("payments", "payments-api", "Payments API", "https://github.com/example/payments-api", 1),
    (
        "payments",
        "refunds-worker",
        "Refunds worker",
        "https://github.com/example/refunds-worker",
        2,
    ),
    ("payments", "ledger", "Ledger", "https://github.com/example/ledger", 1),
    ("search", "search-api", "Search API", "https://github.com/example/search-api", 2),
    ("search", "indexer", "Indexer", "https://github.com/example/indexer", 3),
    ("platform", "idp", "Internal Developer Platform", "https://github.com/example/idp", 2),
]


def environments(sandbox_endpoint: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            "sandbox",
            {
                "name": "Sandbox",
                "order": 0,
                "aws_endpoint_url": sandbox_endpoint,
                "requires_approval": False,
                "allows_ttl": True,
                "members_may_destroy": True,
                "description": "A local AWS API for experiments; nothing here is real.",
            },
        ),
        (
            "dev",
            {
                "name": "Development",
                "order": 10,
                "requires_approval": False,
                "allows_ttl": True,
                "members_may_destroy": True,
                "aws_account_id": "111111111111",
            },
        ),
        (
            "staging",
            {
                "name": "Staging",
                "order": 20,
                "requires_approval": True,
                "aws_account_id": "222222222222",
            },
        ),
        (
            "prod",
            {
                "name": "Production",
                "order": 30,
                "requires_approval": True,
                "is_production": True,
                "aws_account_id": "333333333333",
            },
        ),
    ]


class Command(BaseCommand):
    help = "Create demo teams, users, environments and services (safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--credentials-file",
            default=str(Path(settings.BASE_DIR) / "var" / "demo-credentials.json"),
            help="Where the generated demo passwords are kept (and read back on later runs)",
        )
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off")
        parser.add_argument(
            "--activity",
            action="store_true",
            help="Add the demo's activity (needs the local AWS API, a worker and the portal)",
        )
        parser.add_argument(
            "--portal-url",
            default="http://127.0.0.1:8000",
            help="The running portal, for the pipeline's webhooks (with --activity)",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=900.0,
            help="Seconds to wait for the worker's runs (with --activity)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("seed_demo creates known users; run it with DEBUG on or --force")
        if options["activity"]:
            self._activity(options["portal_url"], options["timeout"])
            return
        cred_path = Path(options["credentials_file"])
        passwords: dict[str, str] = {}
        if cred_path.exists():
            passwords = json.loads(cred_path.read_text())
        with transaction.atomic():
            self._seed(passwords)
        cred_path.parent.mkdir(parents=True, exist_ok=True)
        cred_path.write_text(json.dumps(passwords, indent=2))
        cred_path.chmod(0o600)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign-ins:"))
        for username, password in passwords.items():
            self.stdout.write(f"  {username:<6} {password}")

    def _activity(self, portal_url: str, timeout: float) -> None:
        from config.demo.activity import Activity

        # Progress lines go to `make run`'s console: keep the libraries' chatter out of it.
        for name in ("botocore", "kombu"):
            logging.getLogger(name).setLevel(logging.ERROR)

        def say(text: str) -> None:
            self.stdout.write(text)
            self.stdout.flush()

        problems = Activity(portal_url=portal_url, say=say, timeout=timeout).run()
        if problems:
            raise CommandError(f"The demo is incomplete ({len(problems)} problem(s) above)")

    def _seed(self, passwords: dict[str, str]) -> None:
        sandbox = setting("IDP_SANDBOX_AWS_ENDPOINT") or settings.AWS_ENDPOINT_URL or ""
        for slug, fields in environments(sandbox):
            services.upsert_environment(slug, **fields)
        teams = {}
        for slug, (name, description) in TEAMS.items():
            teams[slug] = Team.objects.filter(slug=slug).first() or services.create_team(
                slug, name=name, description=description
            )
        User = get_user_model()
        for username, email, team, role, platform_admin in USERS:
            user, _ = services.ensure_user(username, email=email)
            if username not in passwords:
                passwords[username] = secrets.token_urlsafe(9)
            if not user.check_password(passwords[username]):
                user.set_password(passwords[username])
            if username == "admin":
                user.is_staff = user.is_superuser = True
            user.save()
            services.set_membership(teams[team], user, role)
            if platform_admin:
                services.set_platform_admin(user, True)
        assert User.objects.filter(username="alice").exists()
        for team, slug, name, repo, tier in SERVICES:
            if not Service.objects.filter(slug=slug).exists():
                create_service(
                    actor=None,
                    team=teams[team],
                    name=name,
                    slug=slug,
                    repository_url=repo,
                    tier=tier,
                    description=f"{name}, owned by {team}.",
                    lifecycle="production",
                )
