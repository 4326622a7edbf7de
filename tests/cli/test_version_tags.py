"""Versions by tag from the CLI and the API: a request names its version by tag, the
resource says its version's status, and a deprecated one is warned of on stderr."""

from __future__ import annotations

import json

import pytest

from catalog.models import Template, TemplateVersion
from catalog.services import sources

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tagged(db: None) -> Template:
    template = Template.objects.create(slug="tagged", title="Tagged")
    schema = {"type": "object", "properties": {"message": {"type": "string"}}}
    for number, label in ((1, "v1.0.0"), (2, "v1.1.0")):
        TemplateVersion.objects.create(
            template=template,
            number=number,
            label=label,
            content_hash=label,
            files={"main.tf": 'variable "message" { type = string }\n'},
            parameters_schema=schema,
        )
    template.current_version = template.versions.get(number=2)
    template.save(update_fields=["current_version"])
    return template


def test_a_request_names_its_version_by_tag_and_hears_it_is_deprecated(
    cli, token_for, alice, platform_admin, teams, tagged, api_as
):
    from idp.models import Environment

    Environment.objects.create(slug="dev", name="Dev", order=1)
    old = tagged.versions.get(label="v1.0.0")
    sources.set_version_status(old, "deprecated", actor=platform_admin, reason="use 1.1")

    result = cli(
        *("resources", "create", "--template", "tagged", "--team", "payments", "--env", "dev"),
        *("--name", "old-one", "--version", "v1.0.0", "-p", "message=hi", "-o", "json"),
        token=token_for(alice),
    )
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert (made["version"], made["version_label"], made["version_status"]) == (
        1,
        "1.0.0",
        "deprecated",
    )
    assert "warning: version 1.0.0 of tagged is deprecated" in result.stderr

    # The list says it too, the same way as the detail.
    rows = api_as(alice).get("/api/v1/resources/").json()["results"]
    assert [(r["version_label"], r["version_status"]) for r in rows] == [("1.0.0", "deprecated")]
    sources.set_version_status(old, "withdrawn", actor=platform_admin, reason="CVE")
    detail = api_as(alice).get(f"/api/v1/resources/{made['id']}/").json()
    assert detail["version_status"] == "withdrawn"
