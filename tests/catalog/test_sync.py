"""Templates as code: sync, versions by content hash, errors with file and line, deprecation."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from celery.signals import worker_ready
from django.core.management import CommandError, call_command

from catalog.models import Template, TemplateVersion
from catalog.services import (
    deprecate_template,
    load_template,
    parse_template,
    resolve_version,
    sync_templates,
)
from catalog.services.loader import read_files
from idp.models import AuditEvent
from idp.services import ServiceError

SHIPPED_SLUGS = {
    "s3-bucket",
    "dynamodb-table",
    "sqs-queue",
    "sns-topic",
    "lambda-function",
    "rds-postgres",
    "ecr-repository",
    "vpc",
    "github-oidc-role",
    "example-config",
}


def test_shipped_catalog_loads_without_errors(synced: Any) -> None:
    assert set(synced.loaded) >= SHIPPED_SLUGS
    assert not synced.failed
    s3 = Template.objects.select_related("owner_team", "current_version").get(slug="s3-bucket")
    assert s3.owner_team is not None and s3.owner_team.slug == "platform"
    assert s3.category == "storage"
    assert s3.current_version.number == 1
    assert s3.current_version.approval_policy["prod"] == "required"
    assert s3.current_version.cost_hints["per_unit"][0]["parameter"] == "expected_storage_gb"
    assert "main.tf" in s3.current_version.files
    assert s3.source_path == "terraform_modules/s3-bucket"
    assert AuditEvent.objects.filter(action="template.version_created").count() >= 10


def test_command_prints_and_second_run_changes_nothing(db: None, teams: Any) -> None:
    out = StringIO()
    call_command("sync_templates", stdout=out)
    assert "created   s3-bucket v1" in out.getvalue()
    assert "0 failed" in out.getvalue()
    versions = TemplateVersion.objects.count()
    out = StringIO()
    call_command("sync_templates", stdout=out)
    assert "unchanged s3-bucket v1" in out.getvalue()
    assert TemplateVersion.objects.count() == versions


def test_changed_module_makes_version_n_plus_1(
    db: None, write_template: Callable[..., Path]
) -> None:
    folder = write_template("mini")
    sync_templates()
    v1 = resolve_version("mini")
    assert v1.number == 1 and v1.changelog == "First version."
    variables = (folder / "variables.tf").read_text()
    (folder / "variables.tf").write_text(
        variables + '\nvariable "colour" {\n  description = "A colour."\n  type = string\n'
        '  default = "red"\n}\n'
    )
    report = sync_templates()
    assert report.changed == ["mini v2"]
    v2 = resolve_version("mini")
    assert v2.number == 2
    assert "added parameters colour" in v2.changelog.lower()
    assert "variables.tf" in v2.changelog
    # The old version keeps its own files for the resources made from it.
    assert "colour" not in TemplateVersion.objects.get(pk=v1.pk).files["variables.tf"]
    assert resolve_version("mini", 1).pk == v1.pk


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"variables.tf": 'variable "x" {\n  type = \n}\n'}, "mini/variables.tf:2: invalid HCL"),
        (
            {
                "variables.tf": 'variable "ok" {\n  description = "fine"\n}\n\n'
                'variable "bare" {\n  type = string\n}\n'
            },
            'mini/variables.tf:5: variable "bare" has no description',
        ),
        (
            {
                "template.yaml": "title: Mini\nparameters:\n  message:\n    order: 1\n"
                "  nope:\n    title: X\n"
            },
            'mini/template.yaml:5: refinement names unknown variable "nope"',
        ),
        ({"template.yaml": "title: [unclosed\n"}, "mini/template.yaml:2: invalid YAML"),
    ],
)
def test_broken_template_reported_with_file_and_line_while_others_load(
    db: None, write_template: Callable[..., Path], files: dict[str, str], expected: str
) -> None:
    write_template("good")
    write_template("mini", files)
    report = sync_templates()
    assert report.loaded == ["good"]
    assert report.failed["mini"].startswith(expected), report.failed
    assert Template.objects.get(slug="mini").sync_error.startswith(expected)
    with pytest.raises(CommandError):
        call_command("sync_templates", stdout=StringIO(), stderr=StringIO())


def test_bad_folder_name_is_refused(db: None, template_root: Path, write_template: Any) -> None:
    (template_root / "Bad_Name").mkdir()
    report = sync_templates()
    assert "folder name must match" in report.failed["Bad_Name"]
    assert not Template.objects.filter(slug="Bad_Name").exists()


def test_fixing_a_broken_template_clears_its_error(db: None, write_template: Any) -> None:
    folder = write_template("mini", {"README.md": "# ok"})
    (folder / "variables.tf").write_text('variable "x" {\n  type = string\n}\n')
    assert "mini" in sync_templates().failed
    write_template("mini", {"variables.tf": 'variable "x" {\n  description = "X."\n}\n'})
    assert sync_templates().ok
    assert Template.objects.get(slug="mini").sync_error == ""


def test_deprecated_template_refused_for_new_requests_but_versions_kept(synced: Any) -> None:
    template = Template.objects.get(slug="sqs-queue")
    deprecate_template(template)
    with pytest.raises(ServiceError) as exc:
        resolve_version("sqs-queue")
    assert exc.value.field == "template"
    assert template.versions.count() == 1
    assert AuditEvent.objects.filter(action="template.deprecated").exists()
    # A later sync does not bring it back.
    sync_templates()
    assert Template.objects.get(slug="sqs-queue").deprecated


def test_parse_is_cached_by_content_hash() -> None:
    folder = Path(__file__).resolve().parents[2] / "terraform_modules" / "example-config"
    files = read_files(folder)
    first = parse_template("example-config", files)
    assert parse_template("example-config", dict(files)) is first
    changed = {**files, "README.md": files["README.md"] + "\nMore."}
    assert parse_template("example-config", changed) is not first


def test_template_dirs_setting_adds_folders(db: None, write_template: Any, settings: Any) -> None:
    write_template("mini")
    settings.IDP_TEMPLATE_DIRS = [*settings.IDP_TEMPLATE_DIRS, Path("does-not-exist")]
    assert sync_templates().loaded == ["mini"]


def test_worker_start_syncs_the_catalog(db: None, write_template: Any) -> None:
    write_template("mini")
    worker_ready.send(sender=None)
    assert Template.objects.get(slug="mini").current_version is not None


def test_platform_variables_are_not_in_the_schema() -> None:
    parsed = load_template(Path(__file__).resolve().parents[2] / "terraform_modules" / "s3-bucket")
    assert parsed.platform_variables == [
        "idp_environment",
        "idp_resource",
        "idp_service",
        "idp_team",
    ]
    assert not set(parsed.platform_variables) & set(parsed.parameters_schema["properties"])


def test_sensitive_defaults_never_reach_the_schema(db: None, write_template: Any) -> None:
    write_template(
        "mini",
        {
            "extra.tf": (
                'variable "token" {\n  description = "A token."\n  type        = string\n'
                '  default     = "s3cr3t-default"\n  sensitive   = true\n}\n'
            )
        },
    )
    assert sync_templates().ok
    version = resolve_version("mini")
    token = version.parameters_schema["properties"]["token"]
    assert token["writeOnly"] and "default" not in token
    assert "token" not in version.parameters_schema["required"]
    assert "s3cr3t-default" not in str(version.parameters_schema)
