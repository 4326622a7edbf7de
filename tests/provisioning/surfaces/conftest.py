"""Fixtures of the provisioning surfaces tests: environments, a tiny provider-free template,
and factories for resources and runs made directly in the database (for list/RBAC tests)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Service, Template, TemplateVersion
from idp.choices import Role
from idp.models import Environment, Team
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.models import Resource, Run, RunLogChunk
from tests import helpers

# A provider-free module: terraform_data needs only Terraform itself.
MAIN_TF = """
variable "message" {
  type        = string
  description = "A message echoed into the outputs"
}

variable "token" {
  type        = string
  description = "A secret input"
  sensitive   = true
  default     = ""
}

resource "terraform_data" "this" {
  input = var.message
}

output "message" {
  description = "The message, as Terraform stored it"
  value       = terraform_data.this.output
}

output "secret_token" {
  description = "Derived from the secret input"
  value       = "token-${var.token}"
  sensitive   = true
}
"""

SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string", "minLength": 1, "maxLength": 200, "description": "A message"},
        "token": {"type": "string", "default": "", "writeOnly": True, "x-sensitive": True},
    },
    "required": ["message"],
    "additionalProperties": False,
}

OUTPUTS = [
    {"name": "message", "description": "The message", "sensitive": False},
    {"name": "secret_token", "description": "Derived", "sensitive": True},
]


def make_version(template: Template, number: int, *, extra: str = "") -> TemplateVersion:
    files = {"main.tf": MAIN_TF + extra}
    version = TemplateVersion.objects.create(
        template=template,
        number=number,
        content_hash=hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest(),
        files=files,
        metadata={"title": template.title},
        parameters_schema=SCHEMA,
        outputs=OUTPUTS,
        approval_policy={},
        cost_hints={},
        allowed_environments=["dev", "prod"],
    )
    template.current_version = version
    template.save(update_fields=["current_version"])
    return version


@pytest.fixture
def envs(db: None) -> dict[str, Environment]:
    """dev runs without approval and allows TTL; prod requires approval; qa is not allowed."""
    return {
        "dev": Environment.objects.create(slug="dev", name="Dev", order=1, allows_ttl=True),
        "prod": Environment.objects.create(
            slug="prod", name="Prod", order=3, requires_approval=True, is_production=True
        ),
        "qa": Environment.objects.create(slug="qa", name="QA", order=2),
    }


@pytest.fixture
def template(db: None) -> Template:
    """`example-config` with one version of the provider-free module."""
    tpl = Template.objects.create(slug="example-config", title="Example config", category="config")
    make_version(tpl, 1)
    tpl.refresh_from_db()
    return tpl


@pytest.fixture
def viewer(make_user: Callable[..., Any], teams: dict[str, Team]) -> Any:
    """A viewer of payments."""
    return make_user("victor", team=teams["payments"], role=Role.VIEWER)


@pytest.fixture
def make_resource(envs: dict[str, Environment], template: Template) -> Callable[..., Resource]:
    """A resource row as the engine would leave it (no Terraform)."""

    def make(team: Team, name: str, **kw: Any) -> Resource:
        kw.setdefault("environment", envs["dev"])
        kw.setdefault("parameters", {"message": f"hello {name}"})
        kw.setdefault("template_version", template.current_version)
        return helpers.make_resource(team, name, template=template, **kw)

    return make


@pytest.fixture
def make_run() -> Callable[..., Run]:
    def make(resource: Resource, *, log: list[str] = (), **kw: Any) -> Run:  # type: ignore[assignment]
        kw.setdefault("kind", RunKind.PLAN)
        kw.setdefault("status", RunStatus.SUCCEEDED)
        run = Run.objects.create(
            resource=resource,
            template_version=resource.template_version,
            parameters=resource.parameters,
            **kw,
        )
        offset = 0
        for seq, text in enumerate(log):
            RunLogChunk.objects.create(run=run, seq=seq, offset=offset, text=text)
            offset += len(text)
        if log:
            Run.objects.filter(pk=run.pk).update(log_size=offset)
            run.refresh_from_db()
        return run

    return make


@pytest.fixture
def make_service() -> Callable[..., Service]:
    def make(team: Team, slug: str) -> Service:
        return Service.objects.create(team=team, slug=slug, name=slug.title())

    return make


@pytest.fixture
def awaiting(
    make_resource: Callable[..., Resource],
    make_run: Callable[..., Run],
    envs: dict[str, Environment],
    teams: dict[str, Team],
    alice: Any,
) -> Resource:
    """alice's prod request with a finished plan (one thing to add), waiting for a second
    pair of eyes."""
    resource = make_resource(
        teams["payments"],
        "app-config",
        environment=envs["prod"],
        status=ResourceStatus.AWAITING_APPROVAL,
        requested_by=alice,
    )
    make_run(
        resource,
        created_by=alice,
        plan_hash="a" * 64,
        finished_at=timezone.now(),
        plan_summary={
            "add": 1,
            "change": 0,
            "destroy": 0,
            "resources": [{"address": "terraform_data.this", "action": "create"}],
        },
        plan_text="+ terraform_data.this (create)\nPlan: 1 to add, 0 to change, 0 to destroy.",
    )
    return resource
