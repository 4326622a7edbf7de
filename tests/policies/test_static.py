"""`make lint` evaluates the shipped policies on the shipped modules, from their HCL."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from policies.loader import SHIPPED_DIR, parse_policy, policy_files
from policies.static import check_modules, module_document

SHIPPED = [parse_policy(path) for path in policy_files(SHIPPED_DIR)]

RISKY = """
resource "aws_db_instance" "this" {
  engine            = "postgres"
  storage_encrypted = false
  multi_az          = var.multi_az
  tags              = local.tags
}

resource "aws_security_group" "db" {
  name = "db"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = local.tags
}
"""


@pytest.mark.slow
def test_the_shipped_modules_pass_the_shipped_policies() -> None:
    modules = Path(__file__).resolve().parents[2] / "terraform_modules"
    blocking = [f for f in check_modules(modules, SHIPPED) if f.blocking]
    assert blocking == []


def test_hcl_becomes_a_plan_with_computed_values_unknown(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(RISKY)
    document = module_document(tmp_path)
    db = next(rc for rc in document["resource_changes"] if rc["type"] == "aws_db_instance")
    assert db["address"] == "aws_db_instance.this"
    assert db["change"]["after"] == {"engine": "postgres", "storage_encrypted": False}
    assert db["change"]["after_unknown"] == {"multi_az": True, "tags": True}


def test_a_module_that_hard_codes_a_violation_fails_the_check(tmp_path: Path) -> None:
    module = tmp_path / "risky-db"
    module.mkdir()
    (module / "main.tf").write_text(RISKY)
    (module / "template.yaml").write_text("approval_policy:\n  dev: none\n  prod: required\n")
    failing = {(f.environment, f.policy) for f in check_modules(tmp_path, SHIPPED) if f.blocking}
    # The open SSH port fails everywhere; the unencrypted database only in prod (its scope).
    assert failing == {
        ("dev", "security_groups"),
        ("prod", "security_groups"),
        ("prod", "rds_production"),
    }
    with pytest.raises(CommandError, match="mandatory failure"):
        call_command("check_policies", modules=str(tmp_path))
