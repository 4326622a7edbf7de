"""Every pipeline template × a few option sets passes the workflow schema and actionlint."""

from __future__ import annotations

import pytest
import yaml

from pipelines.checks import check_actionlint, check_schema, check_workflow
from pipelines.choices import PipelineTemplate
from pipelines.generation import actions as pinned
from pipelines.generation import generate, validate_options

OPTION_SETS = {
    "python": [
        {},
        {
            "python_version": "3.11",
            "test_command": "pytest -q tests",
            "working_directory": "services/api",
            "branches": ["main", "release"],
        },
    ],
    "node": [
        {},
        {"node_version": "22", "test_command": "npm run test:ci", "working_directory": "web"},
    ],
    "go": [{}, {"go_version": "1.23", "branches": ["trunk"], "reviewers": ["payments-lead"]}],
    "container": [
        {},
        {
            "ecr_repository": "payments/api",
            "dockerfile": "docker/Dockerfile",
            "scan_severity": "CRITICAL",
            "working_directory": "svc",
        },
    ],
    "terraform": [
        {},
        {
            "terraform_version": "1.9.0",
            "var_file_pattern": "vars/{environment}.tfvars.json",
            "working_directory": "infra",
        },
    ],
    "static-site": [
        {},
        {
            "output_directory": "build",
            "bucket_prefix": "payments-docs",
            "build_command": "npm run build:prod",
        },
    ],
}
ENV_SETS = [["dev", "staging", "prod"], ["dev"]]


def _cases() -> list[tuple[str, dict, list[str]]]:
    return [(t, o, e) for t in PipelineTemplate.values for o in OPTION_SETS[t] for e in ENV_SETS]


@pytest.mark.parametrize(("template", "options", "envs"), _cases())
def test_every_template_passes_schema_and_actionlint(
    template: str, options: dict, envs: list[str]
) -> None:
    assert validate_options(template, options) == {}
    text = generate(
        template,
        service="payments-api",
        workflow_name="payments-api CI/CD",
        environments=envs,
        options=options,
    )
    assert check_workflow(text) == []
    doc = yaml.safe_load(text)
    jobs = doc["jobs"]
    # build → test → deploy per environment, in order, each in its GitHub environment.
    assert list(jobs)[:2] == ["build", "test"]
    assert [j for j in jobs if j.startswith("deploy-")] == [f"deploy-{e}" for e in envs]
    for i, env in enumerate(envs):
        job = jobs[f"deploy-{env}"]
        assert job["environment"] == env
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        assert "github.event_name == 'push'" in job["if"]
        assert job["concurrency"]["cancel-in-progress"] is False
        if i:
            assert job["needs"] == f"deploy-{envs[i - 1]}"
        aws = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure")]
        assert aws and aws[0]["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
        # The job calls the platform with a token traded for its OIDC token, not a secret.
        token_step = job["steps"][0]
        assert token_step["env"] == {"IDP_URL": "${{ vars.IDP_URL }}"}
        assert "/api/v1/auth/github-oidc/" in token_step["run"] and "secrets." not in text
    assert doc["permissions"] == {"contents": "read"}
    assert "group" in doc["concurrency"]
    # Every action is pinned to a version the platform chose.
    uses = {s["uses"] for j in jobs.values() for s in j["steps"] if "uses" in s}
    known = {v for k, v in vars(pinned).items() if k.isupper()}
    assert uses <= known


def test_dependency_caching_and_options_reach_the_workflow() -> None:
    text = generate(
        "python",
        service="pay",
        workflow_name="pay",
        environments=["dev"],
        options={
            "python_version": "3.11",
            "test_command": "pytest -q",
            "working_directory": "app",
            "branches": ["trunk"],
        },
    )
    doc = yaml.safe_load(text)
    setup = doc["jobs"]["test"]["steps"][1]
    assert setup["with"] == {
        "python-version": "3.11",
        "cache": "pip",
        "cache-dependency-path": "app/requirements*.txt",
    }
    assert {"name": "Test", "run": "pytest -q"} in doc["jobs"]["test"]["steps"]
    assert doc["on"]["push"]["branches"] == ["trunk"]
    assert doc["defaults"]["run"]["working-directory"] == "app"
    assert "refs/heads/trunk" in doc["jobs"]["deploy-dev"]["if"]


def test_terraform_plans_on_pull_requests_and_applies_on_main() -> None:
    doc = yaml.safe_load(
        generate(
            "terraform",
            service="pay",
            workflow_name="pay",
            environments=["dev", "prod"],
            options={},
        )
    )
    assert doc["jobs"]["test"]["if"] == "github.event_name == 'pull_request'"
    plan_steps = [s.get("run", "") for s in doc["jobs"]["test"]["steps"]]
    assert any("terraform plan" in r and "env/dev.tfvars" in r for r in plan_steps)
    build_steps = [s.get("run", "") for s in doc["jobs"]["build"]["steps"]]
    assert "terraform fmt -check -recursive" in build_steps
    apply = [s.get("run", "") for s in doc["jobs"]["deploy-prod"]["steps"]]
    assert any(r.startswith("terraform apply") for r in apply)
    assert doc["jobs"]["deploy-dev"]["needs"] == "build"


@pytest.mark.parametrize(
    ("template", "options", "field"),
    [
        ("python", {"python_version": "three"}, "options.python_version"),
        ("python", {"working_directory": "../outside"}, "options.working_directory"),
        ("python", {"branches": []}, "options.branches"),
        ("python", {"test_command": "pytest\nrm -rf /"}, "options.test_command"),
        ("container", {"scan_severity": "LOW"}, "options.scan_severity"),
        ("go", {"nonsense": 1}, "options.nonsense"),
        ("node", {"reviewers": ["not a login!"]}, "options.reviewers"),
    ],
)
def test_bad_options_are_reported_per_option(template: str, options: dict, field: str) -> None:
    errors = validate_options(template, options)
    assert field in errors, errors


def test_findings_carry_source_line_and_column() -> None:
    broken = (
        "name: broken\n"
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: echo ${{ nonsense.value }}\n"
        "  deploy:\n"
        "    needs: missing\n"
        "    steps: []\n"
    )
    actionlint = check_actionlint(broken)
    assert {f["source"] for f in actionlint} == {"actionlint"}
    lines = {f["line"] for f in actionlint}
    assert 7 in lines and 8 in lines
    assert any("nonsense" in f["message"] and f["column"] > 1 for f in actionlint)
    schema = check_schema(broken)
    assert schema and all(f["source"] == "schema" for f in schema)
    assert not any("'on'" in f["message"] for f in schema), schema  # `on:` is a key, not True
    assert any(f["line"] in (8, 9, 10) and "jobs/deploy" in f["message"] for f in schema), schema
