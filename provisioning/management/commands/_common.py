"""Shared lookups for the provisioning ops commands: clear CommandErrors, never tracebacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from idp.services import ServiceError

from ...actions.results import Decision
from ...models import Resource


def get_resource(resource_id: Any) -> Resource:
    try:
        pk = int(resource_id)
    except (TypeError, ValueError):
        raise CommandError(f"Resource id must be a number, not {resource_id!r}.") from None
    resource = (
        Resource.objects.select_related("team", "environment", "template").filter(pk=pk).first()
    )
    if resource is None:
        raise CommandError(f"No resource with id {pk}.")
    return resource


def get_user(username: str) -> Any:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user named {username!r}.")
    if not user.is_active:
        raise CommandError(f"User {username!r} is inactive.")
    return user


def service_error(error: ServiceError) -> CommandError:
    """A service's refusal as a CommandError naming the status and the field."""
    label = {403: "Not allowed", 409: "Conflict"}.get(error.status, "Refused")
    detail = error.detail
    if isinstance(detail, dict):
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in detail.items())
    return CommandError(f"{label}: {detail}")


class DecisionCommand(BaseCommand):
    """approve / reject / break_glass: a resource, who decides (`--as`), a reason, and
    optionally the plan run reviewed (`--plan`); the action decides, refusals exit 1."""

    reason_required = False
    reason_help = "A note kept with the decision"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("resource_id", help="Resource id")
        parser.add_argument("--as", dest="username", required=True, help="Who decides")
        parser.add_argument(
            "--reason", required=self.reason_required, default="", help=self.reason_help
        )
        parser.add_argument(
            "--plan", type=int, default=None, help="The plan run reviewed (refused if stale)"
        )

    # The action taking the decision (`actions.approve`, …); its outcome says what it did.
    action: Callable[..., Decision]

    def handle(self, *args: Any, **options: Any) -> None:
        if self.reason_required and not options["reason"].strip():
            raise CommandError("Give a reason with --reason.")
        resource = get_resource(options["resource_id"])
        user = get_user(options["username"])
        try:
            decision = type(self).action(
                resource, actor=user, reason=options["reason"], plan_run=options["plan"]
            )
        except ServiceError as error:
            raise service_error(error) from None
        self.stdout.write(self.style.SUCCESS(decision.message))
