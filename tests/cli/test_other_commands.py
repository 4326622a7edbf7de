"""Services, pipelines, monitoring and templates through the CLI, over real HTTP."""

from __future__ import annotations

import json

import pytest

from catalog.services.sync import sync_templates
from idp.models import Environment

from .conftest import one_error_line


@pytest.fixture
def envs(db):
    for order, slug in enumerate(["dev", "staging", "prod"]):
        Environment.objects.create(slug=slug, name=slug.title(), order=order)


def test_services_create_needs_a_maintainer_and_lists(cli, alice, bob, token_for):
    denied = cli(
        "services",
        "create",
        "--name",
        "Payments API",
        "--team",
        "payments",
        token=token_for(alice),
    )
    assert denied.exit_code == 3  # members see services, maintainers create them
    assert "403" in one_error_line(denied)

    created = cli(
        "services",
        "create",
        "--name",
        "Payments API",
        "--team",
        "payments",
        "--repository",
        "https://github.com/example/payments-api",
        "-o",
        "json",
        token=token_for(bob),
    )
    assert created.exit_code == 0, created.stderr
    assert json.loads(created.stdout)["slug"] == "payments-api"

    listed = cli("services", "list", "--team", "payments", token=token_for(alice))
    assert listed.exit_code == 0 and "payments-api" in listed.stdout
    shown = cli("services", "show", "payments-api", "-o", "yaml", token=token_for(alice))
    assert (
        shown.exit_code == 0
        and "repository_url: https://github.com/example/payments-api" in shown.stdout
    )
    missing = cli("services", "show", "nope", token=token_for(alice))
    assert missing.exit_code == 4


def test_pipeline_preview_shows_the_workflow(cli, bob, envs, token_for):
    token = token_for(bob)
    cli(
        "services",
        "create",
        "--name",
        "Payments API",
        "--team",
        "payments",
        "--repository",
        "https://github.com/example/payments-api",
        token=token,
    )
    preview = cli(
        "pipelines",
        "create",
        "--service",
        "payments-api",
        "--template",
        "python",
        "-e",
        "dev",
        "-e",
        "prod",
        "--preview",
        "-o",
        "json",
        token=token,
    )
    assert preview.exit_code == 0, preview.stderr
    body = json.loads(preview.stdout)
    assert "jobs:" in body["yaml"]
    assert body["findings"] == []
    listed = cli("pipelines", "list", "-o", "json", token=token)
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []  # preview stores nothing


def test_costs_budgets_alerts(cli, alice, carol, token_for):
    token = token_for(alice)
    costs = cli("costs", "--team", "payments", "--month", "2026-10", "-o", "json", token=token)
    assert costs.exit_code == 0, costs.stderr
    body = json.loads(costs.stdout)
    assert body["team"] == "payments" and float(body["total"]) == 0
    table = cli("costs", "--team", "payments", token=token)
    assert table.exit_code == 0 and "month to date" in table.stdout
    bad_month = cli("costs", "--month", "October", token=token)
    assert bad_month.exit_code == 1 and "month" in one_error_line(bad_month)
    other_team = cli("costs", "--team", "search", token=token)
    assert other_team.exit_code == 1  # 400 on team: unknown and not yours read the same
    for command in ("budgets", "alerts"):
        result = cli(command, "-o", "json", token=token)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == []


def test_templates_list_and_show(cli, alice, token_for, db):
    sync_templates(only=["example-config", "s3-bucket"])
    token = token_for(alice)
    listed = cli("templates", "list", "-o", "json", token=token)
    assert listed.exit_code == 0
    assert {t["slug"] for t in json.loads(listed.stdout)} == {"example-config", "s3-bucket"}
    table = cli("templates", "show", "example-config", token=token)
    assert table.exit_code == 0
    assert "message" in table.stdout and "replicas" in table.stdout
    missing = cli("templates", "show", "no-such-template", token=token)
    assert missing.exit_code == 4
