"""The CLI helps: `idp templates show` lists what each parameter takes, an unknown template,
environment or team is answered with the closest name and the valid ones, and every error
starts with its message (the HTTP status and operation come last)."""

from __future__ import annotations

import json

import pytest

from catalog.services.sync import sync_templates
from idp.cli import client as cli_client
from idp.models import Environment

from .conftest import one_error_line


@pytest.fixture
def catalog(db):
    sync_templates(only=["example-config", "s3-bucket"])
    for order, slug in enumerate(["dev", "staging", "prod"]):
        Environment.objects.create(slug=slug, name=slug.title(), order=order)


def create(cli, token, template="example-config", env="dev", team="payments"):
    return cli(
        *("resources", "create", "-t", template, "--team", team, "-e", env, "-n", "helpful"),
        token=token,
    )


def test_an_unknown_template_suggests_the_closest_and_lists_the_valid_ones(
    cli, alice, token_for, catalog
):
    result = create(cli, token_for(alice), template="exmple-config")
    assert result.exit_code == 1
    line = one_error_line(result)
    # The message first: no "POST /api/v1/resources/: 400:" before it.
    assert line.startswith("error: template: Unknown template 'exmple-config'"), line
    assert "did you mean example-config?" in line
    assert "Valid templates: example-config, s3-bucket" in line
    assert line.endswith("(400 on POST /api/v1/resources/)"), line


def test_an_unknown_environment_suggests_the_closest(cli, alice, token_for, catalog):
    result = create(cli, token_for(alice), env="stagin")
    line = one_error_line(result)
    assert line.startswith("error: environment: Unknown environment 'stagin'"), line
    assert "did you mean staging? Valid environments: dev, prod, staging" in line


def test_nothing_close_lists_the_valid_names_only(cli, alice, token_for, catalog):
    line = one_error_line(create(cli, token_for(alice), env="qqqqqqqq"))
    assert "did you mean" not in line
    assert "Valid environments: dev, prod, staging" in line


def test_another_teams_name_reads_as_unknown_and_only_your_teams_are_listed(
    cli, alice, carol, token_for, catalog
):
    # alice belongs to payments only: "search" exists but is not hers, and is never listed.
    line = one_error_line(create(cli, token_for(alice), team="search"))
    assert "Unknown team 'search'" in line
    assert "Valid teams: payments" in line and "search," not in line.split("Valid")[1]


def test_templates_show_of_an_unknown_name_suggests(cli, alice, token_for, catalog):
    result = cli("templates", "show", "s3-bucke", token=token_for(alice))
    assert result.exit_code == 4
    line = one_error_line(result)
    assert line.startswith("error: Not found."), line
    assert "did you mean s3-bucket?" in line
    assert line.endswith("(404 on GET /api/v1/templates/s3-bucke/)"), line


def test_other_errors_start_with_the_message(cli, alice, token_for, db):
    line = one_error_line(cli("resources", "show", "999999", token=token_for(alice)))
    assert line == "error: Not found. (404 on GET /api/v1/resources/999999/)"


def test_templates_show_lists_types_defaults_allowed_values_and_sensitive(
    cli, alice, token_for, catalog
):
    result = cli("templates", "show", "example-config", token=token_for(alice))
    assert result.exit_code == 0, result.stderr
    rows = {
        line.split()[0]: line
        for line in result.stdout.splitlines()
        if line.split() and line.split()[0] in {"message", "replicas", "labels", "secret_token"}
    }
    assert set(rows) == {"message", "replicas", "labels", "secret_token"}, result.stdout
    assert "string" in rows["message"] and '"hello"' in rows["message"]
    assert "integer" in rows["replicas"] and "1..10" in rows["replicas"]
    assert "map of string" in rows["labels"] and "at most 10 keys" in rows["labels"]
    assert "string or null" in rows["secret_token"] and "yes" in rows["secret_token"]
    assert "length >= 8" in rows["secret_token"]
    for name in ("message", "replicas", "labels"):
        assert " yes " not in rows[name]
    # The machine-readable answer stays the API's, schema included.
    as_json = cli("templates", "show", "example-config", "-o", "json", token=token_for(alice))
    schema = json.loads(as_json.stdout)["parameters_schema"]
    assert schema["properties"]["secret_token"]["x-sensitive"] is True


def test_parameter_rows_mask_a_sensitive_default_and_show_enums_and_required():
    rows = cli_client_rows(
        {
            "properties": {
                "size": {"type": "string", "enum": ["small", "large"], "default": "small"},
                "password": {"type": "string", "x-sensitive": True, "default": "hunter22"},
                "name": {"type": "string"},
                "ports": {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
            },
            "required": ["name"],
        }
    )
    assert rows["size"]["allowed"] == 'one of "small", "large"'
    assert rows["password"]["default"] == "********" and rows["password"]["sensitive"] == "yes"
    assert rows["name"]["default"] == "(required)"
    assert rows["ports"]["type"] == "list of integer" and rows["ports"]["allowed"] == "items <= 3"


def cli_client_rows(schema):
    from idp.cli.catalog import parameter_rows

    return {row["name"]: row for row in parameter_rows(schema)}


def test_every_client_of_a_process_shares_one_tls_context():
    first = cli_client.Client("https://idp.example", "idp_x")
    second = cli_client.Client("https://idp.example", "idp_y")
    assert cli_client.ssl_context.cache_info().currsize == 1
    pool_contexts = {
        id(c.http._transport._pool._ssl_context)  # type: ignore[attr-defined]
        for c in (first, second)
    }
    assert pool_contexts == {id(cli_client.ssl_context())}
