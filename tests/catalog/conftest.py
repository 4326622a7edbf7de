"""Catalog fixtures: the shipped templates synced, a scratch template folder, environments."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from catalog.services import SyncReport, sync_templates
from idp import services as idp_services
from idp.models import Environment

SHIPPED = Path(django_settings.BASE_DIR) / "terraform_modules"

MINIMAL_VARIABLES = """variable "message" {
  description = "A message."
  type        = string
  default     = "hi"
}

variable "size" {
  description = "A size."
  type        = number
  validation {
    condition     = var.size >= 1 && var.size <= 5
    error_message = "1 to 5."
  }
}

variable "idp_team" {
  description = "Team (platform)."
  type        = string
}
"""
MINIMAL_YAML = """title: Mini
description: A minimal test template.
category: testing
owner: payments
version: "0.1"
approval_policy:
  prod: required
"""


@pytest.fixture
def synced(db: None, teams: dict[str, Any], make_team: Callable[..., Any]) -> SyncReport:
    """The shipped catalog loaded into the database (owned by the platform team)."""
    make_team("platform")
    report = sync_templates()
    assert report.ok, report.failed
    return report


@pytest.fixture
def environments(db: None) -> dict[str, Environment]:
    return {
        "dev": idp_services.upsert_environment(
            "dev", name="Development", order=10, allows_ttl=True
        ),
        "prod": idp_services.upsert_environment(
            "prod", name="Production", order=30, requires_approval=True, is_production=True
        ),
    }


@pytest.fixture
def template_root(tmp_path: Path, settings: Any) -> Path:
    """An empty template folder that is the only one the catalog reads."""
    root = tmp_path / "modules"
    root.mkdir()
    settings.IDP_TEMPLATE_DIRS = [root]
    return root


@pytest.fixture
def write_template(template_root: Path) -> Callable[..., Path]:
    """Write a template folder: write_template("mini", **{"variables.tf": "..."})."""

    def write(
        slug: str, files: dict[str, str] | None = None, *, copy_of: str | None = None
    ) -> Path:
        folder = template_root / slug
        if copy_of:
            shutil.copytree(SHIPPED / copy_of, folder, dirs_exist_ok=True)
        else:
            folder.mkdir(exist_ok=True)
            (folder / "variables.tf").write_text(MINIMAL_VARIABLES)
            (folder / "main.tf").write_text(
                'resource "terraform_data" "x" {\n  input = var.message\n}\n'
            )
            (folder / "outputs.tf").write_text(
                'output "message" {\n  description = "The message."\n'
                "  value       = var.message\n}\n"
            )
            (folder / "template.yaml").write_text(MINIMAL_YAML)
            (folder / "README.md").write_text("# Mini\n\nA *small* template.\n")
        for name, text in (files or {}).items():
            (folder / name).write_text(text)
        return folder

    return write
