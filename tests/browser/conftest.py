"""Journey fixtures: the shipped catalog, three environments, a payments service whose repository
lives on the local GitHub-shaped server, and a worker that runs real Terraform against moto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog.models import Service, Template
from catalog.services import sync_templates
from idp.models import Environment, Team
from provisioning.engine.backend import ensure_state_bucket
from tests.fakes.github import FakeGitHub
from tests.utils import free_port

REPOSITORY = "acme/payments-api"


@pytest.fixture
def environments(transactional_db: None) -> dict[str, Environment]:
    """dev and staging run without approval; prod needs one."""
    specs = [("dev", 10, False), ("staging", 20, False), ("prod", 30, True)]
    return {
        slug: Environment.objects.create(
            slug=slug,
            name=slug.title(),
            order=order,
            is_production=prod,
            requires_approval=prod,
            aws_region="eu-west-1",
        )
        for slug, order, prod in specs
    }


@pytest.fixture
def catalog(transactional_db: None) -> Template:
    """The shipped catalog, loaded the way ops load it (the catalog's sync)."""
    report = sync_templates()
    assert not report.failed, report.failed
    return Template.objects.get(slug="example-config")


@pytest.fixture(scope="session")
def github_server() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.start(free_port())
    yield fake
    fake.stop()


@pytest.fixture
def github(github_server: FakeGitHub, settings: Any) -> FakeGitHub:
    """The GitHub-shaped server with the payments repository, and PyGithub pointed at it."""
    fake = github_server
    with fake.lock:
        fake.repos.clear()
        fake.requests.clear()
        fake.failures.clear()
    settings.GITHUB_API_URL = fake.url
    settings.GITHUB_TOKEN = "ghp_journey_token"
    settings.GITHUB_APP_ID = ""
    settings.IDP_GITHUB_WRITE_PACING = 0
    fake.add_repo(REPOSITORY)
    fake.add_user("payments-lead")
    return fake


@pytest.fixture
def payments_service(teams: dict[str, Team], environments: dict[str, Environment]) -> Service:
    return Service.objects.create(
        team=teams["payments"],
        slug="payments-api",
        name="Payments API",
        repository_url=f"https://github.com/{REPOSITORY}",
    )


@pytest.fixture
def state(celery_worker: Any, aws: str, settings: Any, tmp_path: Path) -> str:
    """A live worker, the moto server with the Terraform state bucket, a private work dir."""
    settings.IDP_WORK_DIR = tmp_path / "runs"
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path.parent / "plugin-cache"
    ensure_state_bucket()
    return aws
