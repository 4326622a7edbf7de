from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from idp import services
from idp.auth import groups
from idp.choices import Role, SSOMappingMode
from idp.models import SSOGroupMapping, Team


class Command(BaseCommand):
    help = (
        "Map identity-provider groups to team roles: list, add PATTERN TEAM ROLE [--add-only], "
        "remove PATTERN TEAM, preview GROUP [GROUP ...]."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Every mapping (admin rows and IDP_SSO_GROUP_MAPPINGS)")
        add = sub.add_parser("add", help="Create or update a mapping")
        add.add_argument("pattern", help="Group name or glob pattern, e.g. eng-payments, eng-*")
        add.add_argument("team")
        add.add_argument("role", choices=Role.values)
        add.add_argument(
            "--add-only",
            action="store_true",
            help="Only add memberships; never change or remove them when the group goes",
        )
        remove = sub.add_parser("remove", help="Delete a mapping")
        remove.add_argument("pattern")
        remove.add_argument("team")
        preview = sub.add_parser("preview", help="Which team roles these groups give")
        preview.add_argument("groups", nargs="+")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except services.ServiceError as exc:
            raise CommandError(exc.message) from exc

    def _team(self, slug: str) -> Team:
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            raise CommandError(f"No team {slug!r}")
        return team

    def _list(self, options: dict[str, Any]) -> None:
        for m in groups.all_mappings(strict=True):
            self.stdout.write(f"{m.group_pattern}\t{m.team_slug}\t{m.role}\t{m.mode}")

    def _add(self, options: dict[str, Any]) -> None:
        mode = SSOMappingMode.ADD_ONLY if options["add_only"] else SSOMappingMode.MANAGE
        mapping = groups.save_mapping(
            options["pattern"], self._team(options["team"]), options["role"], mode
        )
        self.stdout.write(f"Mapped {mapping}")

    def _remove(self, options: dict[str, Any]) -> None:
        mapping = SSOGroupMapping.objects.filter(
            group_pattern=options["pattern"], team__slug=options["team"]
        ).first()
        if mapping is None:
            raise CommandError(f"No mapping of {options['pattern']!r} to {options['team']!r}")
        groups.delete_mapping(mapping)
        self.stdout.write(f"Removed {options['pattern']} → {options['team']}")

    def _preview(self, options: dict[str, Any]) -> None:
        grants = groups.desired_grants(options["groups"], groups.all_mappings(strict=True))
        if not grants:
            self.stdout.write("No team: these groups match no mapping")
        for slug, grant in sorted(grants.items()):
            self.stdout.write(f"{slug}\t{grant.role}\t(from SSO group {grant.group})")
