"""Delivery with PyGithub over real HTTP to the GitHub-shaped server: branch, commit, PR,
environments; the same PR on regeneration; GitHub errors become clear messages."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from catalog.models import Template, TemplateVersion
from idp.github_client import GitHubError, parse_repository
from idp.jobs import dispatch as jobs
from idp.models import AuditEvent
from pipelines import services
from pipelines.choices import DeliveryState
from pipelines.models import Pipeline
from pipelines.tasks import deliver_pipeline
from provisioning.models import Resource

from .conftest import REPOSITORY

ENVS = ["dev", "staging", "prod"]


@pytest.fixture
def pipeline(payments_service: Any, bob: Any, github: Any) -> Pipeline:
    return services.create_pipeline(
        payments_service,
        template="python",
        environments=ENVS,
        options={"reviewers": ["payments-lead", "sre-oncall"]},
        actor=bob,
    )


def _committed(github: Any, path: str) -> list[str]:
    return [
        base64.b64decode(r["body"]["content"]).decode()
        for r in github.requests_to("PUT", rf"/contents/{path}$")
    ]


def test_delivery_creates_branch_commit_pr_and_environments(
    pipeline: Pipeline, github: Any
) -> None:
    delivered = services.deliver(pipeline.pk)

    assert delivered.delivery_state == DeliveryState.DELIVERED
    assert delivered.pr_number == 1
    assert delivered.pr_url == f"https://github.com/{REPOSITORY}/pull/1"
    # The branch was cut from the default branch's head.
    (ref,) = github.requests_to("POST", r"/git/refs$")
    repo = github.repos[REPOSITORY]
    assert ref["body"]["ref"] == "refs/heads/idp/pipeline-python"
    # The committed file is exactly the checked YAML.
    assert _committed(github, ".github/workflows/python.yml") == [pipeline.yaml]
    assert (
        github.file(REPOSITORY, "idp/pipeline-python", ".github/workflows/python.yml")
        == pipeline.yaml
    )
    (pr,) = github.requests_to("POST", r"/pulls$")
    assert pr["body"]["head"] == "idp/pipeline-python" and pr["body"]["base"] == "main"
    assert "python" in pr["body"]["title"]
    assert repo.pulls[0]["state"] == "open"
    # Environments: prod has the required reviewers, each has its region.
    assert sorted(repo.environments) == sorted(ENVS)
    assert [r["login"] for r in repo.environments["prod"]["reviewers"]] == [
        "payments-lead",
        "sre-oncall",
    ]
    assert repo.environments["dev"]["reviewers"] == []
    assert repo.environments["prod"]["variables"]["AWS_REGION"]["value"] == "eu-central-1"
    assert repo.environments["prod"]["variables"]["IDP_URL"]["value"] == "http://localhost:8000"
    assert "AWS_ROLE_ARN" not in repo.environments["dev"]["variables"]  # no OIDC role yet
    assert AuditEvent.objects.filter(
        action="pipeline.delivered", target_id=str(pipeline.pk)
    ).exists()


def test_regenerating_updates_the_same_branch_and_pr(
    pipeline: Pipeline, github: Any, bob: Any
) -> None:
    services.deliver(pipeline.pk)
    services.regenerate_pipeline(
        pipeline, options={"python_version": "3.11", "reviewers": ["payments-lead"]}, actor=bob
    )
    again = services.deliver(pipeline.pk)

    repo = github.repos[REPOSITORY]
    assert len(repo.pulls) == 1 and again.pr_number == 1
    assert len(github.requests_to("POST", r"/pulls$")) == 1
    assert len(github.requests_to("POST", r"/git/refs$")) == 1
    puts = github.requests_to("PUT", r"/contents/")
    assert len(puts) == 2 and "sha" in puts[1]["body"]  # an update of the existing file
    content = github.file(REPOSITORY, "idp/pipeline-python", ".github/workflows/python.yml")
    assert "python-version: '3.11'" in content and content == again.yaml
    assert [r["login"] for r in repo.environments["prod"]["reviewers"]] == ["payments-lead"]


def test_role_arn_from_the_provisioned_oidc_role_becomes_an_environment_variable(
    payments_service: Any, bob: Any, github: Any, environments: Any
) -> None:
    template = Template.objects.create(slug="github-oidc-role", title="GitHub OIDC role")
    version = TemplateVersion.objects.create(template=template, number=1, content_hash="h")
    arn = "arn:aws:iam::111122223333:role/payments-api-github-dev"
    Resource.objects.create(
        team=payments_service.team,
        service=payments_service,
        template=template,
        template_version=version,
        environment=environments["dev"],
        name="payments-oidc",
        status="provisioned",
        outputs={"role_arn": arn},
    )
    preview = services.preview(payments_service, "python", ENVS, {})
    assert preview.role_arns == {"dev": arn}
    assert not any("dev has no" in w for w in preview.warnings)
    assert any("staging has no GitHub OIDC role" in w for w in preview.warnings)

    pipeline = services.create_pipeline(
        payments_service, template="python", environments=ENVS, actor=bob
    )
    services.deliver(pipeline.pk)
    variables = github.repos[REPOSITORY].environments["dev"]["variables"]
    assert variables["AWS_ROLE_ARN"]["value"] == arn
    # Re-delivery with a changed ARN edits the variable in place.
    Resource.objects.filter(name="payments-oidc").update(outputs={"role_arn": arn + "-v2"})
    services.deliver(pipeline.pk)
    assert variables["AWS_ROLE_ARN"]["value"] == arn + "-v2"
    assert github.requests_to("PATCH", r"/environments/dev/variables/AWS_ROLE_ARN$")


@pytest.mark.parametrize(
    ("status", "path", "expected"),
    [
        (404, f"/repos/{REPOSITORY}", "was not found on GitHub"),
        (403, "/contents/", "403"),
        (422, "/pulls", "422"),
    ],
)
def test_github_errors_become_clear_messages(
    pipeline: Pipeline, github: Any, status: int, path: str, expected: str
) -> None:
    github.fail(status, path_contains=path)
    with pytest.raises(GitHubError) as raised:
        services.deliver(pipeline.pk)
    assert not raised.value.transient
    pipeline.refresh_from_db()
    assert pipeline.delivery_state == DeliveryState.FAILED
    assert expected in pipeline.last_error and REPOSITORY in pipeline.last_error
    assert "ghp_test_token" not in pipeline.last_error
    if status == 403:
        assert "permissions" in pipeline.last_error


def test_rate_limit_names_the_reset_time_and_is_retried(pipeline: Pipeline, github: Any) -> None:
    reset = github.rate_limit(reset_in=900, path_contains="/pulls", times=1)
    with pytest.raises(GitHubError) as raised:
        services.deliver(pipeline.pk, final_attempt=False)
    assert raised.value.transient and 800 <= raised.value.retry_after <= 900
    pipeline.refresh_from_db()
    assert pipeline.delivery_state == DeliveryState.QUEUED
    assert "rate limit" in pipeline.last_error and "resets at" in pipeline.last_error
    import datetime as dt

    assert dt.datetime.fromtimestamp(reset, tz=dt.UTC).strftime("%H:%M") in pipeline.last_error
    # The task retries (eagerly here) and the second attempt goes through.
    github.rate_limit(reset_in=900, path_contains="/pulls", times=1)
    jobs.request(services.DELIVERY, pipeline)  # the delivery's job, as request_delivery queues it
    result = deliver_pipeline.apply(args=[pipeline.pk])
    assert result.successful(), result.traceback
    pipeline.refresh_from_db()
    assert pipeline.delivery_state == DeliveryState.DELIVERED and pipeline.last_error == ""


def test_transient_errors_are_retried_with_backoff_then_fail_clearly(
    pipeline: Pipeline, github: Any
) -> None:
    github.fail(502, path_contains=f"/repos/{REPOSITORY}")
    jobs.request(services.DELIVERY, pipeline)
    result = deliver_pipeline.apply(args=[pipeline.pk])
    pipeline.refresh_from_db()
    assert pipeline.delivery_state == DeliveryState.FAILED
    assert "502" in pipeline.last_error
    # One first try and MAX_RETRIES retries reached GitHub.
    assert len(github.requests_to("GET", rf"/repos/{REPOSITORY}$")) == 6
    assert result.result.startswith("failed")
    pipeline.refresh_from_db()
    assert pipeline.status == "failed" and pipeline.attempts == 6 and "502" in pipeline.error


def test_unknown_reviewer_is_reported(payments_service: Any, bob: Any, github: Any) -> None:
    pipeline = services.create_pipeline(
        payments_service,
        template="node",
        environments=ENVS,
        options={"reviewers": ["ghost-user"]},
        actor=bob,
    )
    with pytest.raises(GitHubError):
        services.deliver(pipeline.pk)
    pipeline.refresh_from_db()
    assert "ghost-user" in pipeline.last_error and pipeline.delivery_state == DeliveryState.FAILED


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/payments-api", "acme/payments-api"),
        ("https://github.com/acme/payments-api.git", "acme/payments-api"),
        ("https://ghe.example.com/team-x/svc/", "team-x/svc"),
        ("git@github.com:acme/payments-api.git", "acme/payments-api"),
    ],
)
def test_repository_is_parsed_from_the_service_url(url: str, expected: str) -> None:
    assert parse_repository(url) == expected


@pytest.mark.parametrize("url", ["", "https://github.com/acme", "not a url"])
def test_unparseable_repository_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_repository(url)


def test_github_app_auth_exchanges_a_jwt_for_an_installation_token(
    pipeline: Pipeline, github: Any, settings: Any
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.GITHUB_APP_ID = "123456"
    settings.GITHUB_APP_INSTALLATION_ID = "42"
    settings.GITHUB_APP_PRIVATE_KEY = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    settings.GITHUB_TOKEN = ""
    delivered = services.deliver(pipeline.pk)
    assert delivered.delivery_state == DeliveryState.DELIVERED
    (token_request,) = github.requests_to("POST", r"^/app/installations/42/access_tokens$")
    assert token_request["auth"].startswith("Bearer ")
    repo_calls = github.requests_to("GET", rf"^/repos/{REPOSITORY}$")
    assert repo_calls and all(r["auth"] == "token ghs_installation42" for r in repo_calls)


def test_missing_credentials_fail_clearly(pipeline: Pipeline, github: Any, settings: Any) -> None:
    settings.GITHUB_TOKEN = ""
    with pytest.raises(GitHubError):
        services.deliver(pipeline.pk)
    pipeline.refresh_from_db()
    assert "GITHUB_TOKEN" in pipeline.last_error and pipeline.delivery_state == "failed"
    assert not github.requests


def test_a_workflow_with_findings_never_leaves_the_platform(
    pipeline: Pipeline, github: Any, bob: Any
) -> None:
    finding = {"source": "actionlint", "line": 3, "column": 1, "message": "broken"}
    Pipeline.objects.filter(pk=pipeline.pk).update(findings=[finding])
    with pytest.raises(services.Conflict):
        services.request_delivery(pipeline, actor=bob)
    # Even a delivery already queued is refused at the last moment.
    result = services.deliver(pipeline.pk)
    assert result.delivery_state == DeliveryState.FAILED and "findings" in result.last_error
    assert not github.requests
