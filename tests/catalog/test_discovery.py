"""Discovery: catalog-info.yaml files found at registered locations (real Git repositories
made here, the GitHub-shaped server for organisations), scans, orphans, webhooks, rights."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from catalog.choices import EntityOrigin, LocationType
from catalog.models import Entity, Location, Service
from catalog.software.services import discovery
from tests.fakes.github import FakeGitHub
from tests.helpers import git
from tests.utils import free_port

WEBHOOK_SECRET = "discovery-webhook-secret"

ROOT_FILE = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger
  description: {description}
spec:
  type: service
  lifecycle: production
  owner: payments
  providesApis: [ledger-api]
{api}"""
API_DOC = """---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: ledger-api
spec:
  type: openapi
  lifecycle: production
  owner: payments
  definition: "openapi: 3.0.0"
"""
WORKER_FILE = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger-worker
spec:
  type: service
  lifecycle: experimental
  owner: payments
"""


class Origin:
    """A bare repository (what the location points at) and a working clone that pushes."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "origin.git"
        self.work = root / "work"
        root.mkdir(parents=True, exist_ok=True)
        git(root, "init", "-q", "--bare", "-b", "main", str(self.bare))
        git(root, "clone", "-q", str(self.bare), str(self.work))
        git(self.work, "checkout", "-q", "-b", "main")

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def push(self, files: dict[str, str | None], message: str = "catalog") -> str:
        for name, text in files.items():
            path = self.work / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "main")
        return git(self.work, "rev-parse", "HEAD")


def entity(kind: str, name: str) -> Entity:
    return Entity.objects.get(kind=kind, namespace="default", name=name)


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    return Origin(tmp_path / "ledger")


@pytest.fixture
def git_location(origin: Origin, teams: dict[str, Any], platform_admin: Any) -> Location:
    return discovery.register_location(
        platform_admin, LocationType.GIT, origin.url, team=teams["payments"]
    )


# --- Git locations ----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_scan_imports_every_catalog_file_and_orphans_what_is_gone(
    origin: Origin, git_location: Location
) -> None:
    first = origin.push(
        {
            "catalog-info.yaml": ROOT_FILE.format(description="Books money", api=API_DOC),
            "services/worker/catalog-info.yaml": WORKER_FILE,
            # Deeper than Backstage's discovery looks: not read.
            "a/b/c/d/catalog-info.yaml": WORKER_FILE.replace("ledger-worker", "too-deep"),
        }
    )
    result = discovery.scan_location(git_location)

    assert result.error == ""
    component, api = entity("Component", "ledger"), entity("API", "ledger-api")
    worker = entity("Component", "ledger-worker")
    assert not Entity.objects.filter(name="too-deep").exists()
    for found in (component, api, worker):
        assert found.origin == EntityOrigin.LOCATION
        assert found.location_id == git_location.pk
        assert found.team.slug == "payments"
        assert not found.orphaned
    assert component.source_url == f"{origin.url}@{first}:catalog-info.yaml"
    assert worker.source_url.endswith(f"@{first}:services/worker/catalog-info.yaml")
    assert component.relations.filter(type="providesApi", target=api).exists()
    git_location.refresh_from_db()
    assert git_location.last_scan_at is not None
    stored = git_location.last_result
    assert stored["ok"] and stored["commit"] == first
    assert stored["counts"]["created"] == 3 and stored["counts"]["errors"] == 0
    assert [f["path"] for f in stored["files"]] == [
        "catalog-info.yaml",
        "services/worker/catalog-info.yaml",
    ]

    # The API leaves the file and the component changes: updated in place, API orphaned.
    second = origin.push(
        {"catalog-info.yaml": ROOT_FILE.format(description="Books all the money", api="")}
    )
    result = discovery.scan_location(git_location)
    changed = entity("Component", "ledger")
    assert changed.pk == component.pk
    assert changed.description == "Books all the money"
    assert changed.source_url.endswith(f"@{second}:catalog-info.yaml")
    assert entity("API", "ledger-api").orphaned
    assert not entity("Component", "ledger-worker").orphaned
    assert result.orphaned == ["api:default/ledger-api"]
    assert git_location.last_result["counts"]["orphaned"] == 1

    # It comes back: no longer orphaned.
    origin.push({"catalog-info.yaml": ROOT_FILE.format(description="Back", api=API_DOC)})
    result = discovery.scan_location(git_location)
    assert result.restored == ["api:default/ledger-api"]
    assert not entity("API", "ledger-api").orphaned


@pytest.mark.slow
def test_an_invalid_file_is_recorded_and_the_others_still_imported(
    origin: Origin, git_location: Location
) -> None:
    origin.push(
        {
            "catalog-info.yaml": ROOT_FILE.format(description="Books money", api=""),
            "broken/catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
            "metadata:\n  name: Not A Valid Name!\nspec: {}\n",
            "other-team/catalog-info.yaml": WORKER_FILE.replace("payments", "search"),
        }
    )
    discovery.scan_location(git_location)
    git_location.refresh_from_db()
    files = {f["path"]: f for f in git_location.last_result["files"]}
    assert not git_location.last_result["ok"]
    assert files["catalog-info.yaml"]["created"] == ["component:default/ledger"]
    assert files["broken/catalog-info.yaml"]["errors"]
    assert "metadata.name" in files["broken/catalog-info.yaml"]["errors"][0]
    # A payments location does not write the search team's entities.
    assert "not team payments" in files["other-team/catalog-info.yaml"]["errors"][0]
    assert entity("Component", "ledger").location_id == git_location.pk
    assert not Entity.objects.filter(name="ledger-worker").exists()


@pytest.mark.slow
def test_a_team_location_cannot_take_over_another_teams_entities(
    origin: Origin, git_location: Location, teams: dict[str, Any]
) -> None:
    Service.objects.create(team=teams["search"], slug="ledger", name="Ledger")
    origin.push({"catalog-info.yaml": ROOT_FILE.format(description="Mine now", api="")})
    discovery.scan_location(git_location)
    errors = git_location.last_result["files"][0]["errors"]
    assert errors and "of team search" in errors[0]
    found = Entity.objects.filter(kind="Component", name="ledger").first()
    assert found is None or found.location_id is None


@pytest.mark.slow
def test_one_failing_location_does_not_stop_the_others(
    origin: Origin, git_location: Location, platform_admin: Any, tmp_path: Path
) -> None:
    origin.push({"catalog-info.yaml": ROOT_FILE.format(description="x", api="")})
    missing = discovery.register_location(
        platform_admin, LocationType.GIT, (tmp_path / "nowhere.git").as_uri()
    )
    outcome = discovery.scan_all()
    assert outcome == {missing.pk: False, git_location.pk: True}
    missing.refresh_from_db()
    assert "git clone failed" in missing.last_result["error"]
    assert entity("Component", "ledger").location_id == git_location.pk


@pytest.mark.slow
def test_management_commands_register_and_scan(origin: Origin, teams: dict[str, Any]) -> None:
    origin.push({"catalog-info.yaml": ROOT_FILE.format(description="cli", api=API_DOC)})
    call_command("add_catalog_location", "git", origin.url, "--team", "payments")
    location = Location.objects.get(target=origin.url)
    assert location.team.slug == "payments" and location.last_scan_at is None
    call_command("scan_catalog_locations")
    location.refresh_from_db()
    assert location.last_result["counts"]["created"] == 2
    assert entity("API", "ledger-api").location_id == location.pk


# --- Registering: rights and validation ---------------------------------------------------------


def test_registering_needs_maintainers_and_admins_for_local_paths(
    api_as: Callable[[Any], Any],
    alice: Any,
    bob: Any,
    carol: Any,
    platform_admin: Any,
    teams: dict[str, Any],
    tmp_path: Path,
) -> None:
    url = "/api/v1/catalog/locations/"
    remote = {
        "type": "git",
        "target": "https://git.example.com/acme/ledger.git",
        "team": "payments",
    }
    # Another team's member, and a plain member of payments: 403.
    assert api_as(carol).post(url, remote, format="json").status_code == 403
    assert api_as(alice).post(url, remote, format="json").status_code == 403
    # No team: platform admins only.
    no_team = {**remote, "team": None}
    assert api_as(bob).post(url, no_team, format="json").status_code == 403
    # Local disk: platform admins only; bad schemes refused.
    local = {**remote, "target": tmp_path.as_uri()}
    assert api_as(bob).post(url, local, format="json").status_code == 403
    path = {**remote, "target": str(tmp_path)}
    assert api_as(bob).post(url, path, format="json").status_code == 403
    bad_targets = (
        "http://git.example.com/a.git",
        "ext::sh -c touch% /tmp/pwned",
        "ftp://x/y",
        "-oProxyCommand=touch@host:x",
    )
    for bad in bad_targets:
        answer = api_as(bob).post(url, {**remote, "target": bad}, format="json")
        assert answer.status_code in (400, 403), bad
        assert answer.status_code == 400 or bad.startswith("ext::")
    dashed = {**remote, "target": "--upload-pack=touch /tmp/x"}
    assert api_as(platform_admin).post(url, dashed, format="json").status_code == 400
    answer = api_as(bob).post(url, {**remote, "ref": "--upload-pack=x"}, format="json")
    assert answer.status_code == 400 and "ref" in answer.json()["detail"]
    assert not Location.objects.exists()

    # A maintainer registers for their team; again is a conflict.
    created = api_as(bob).post(url, remote, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["team"] == "payments" and created.json()["type"] == "git"
    assert api_as(bob).post(url, remote, format="json").status_code == 409
    # The platform admin registers a local path.
    assert api_as(platform_admin).post(url, local, format="json").status_code == 201


def test_locations_of_other_teams_answer_404(
    api_as: Callable[[Any], Any],
    alice: Any,
    bob: Any,
    carol: Any,
    platform_admin: Any,
    teams: dict[str, Any],
) -> None:
    mine = discovery.register_location(
        bob, LocationType.GIT, "https://git.example.com/acme/ledger.git", team=teams["payments"]
    )
    admins = discovery.register_location(platform_admin, LocationType.GITHUB_ORG, "acme")
    listed = api_as(carol).get("/api/v1/catalog/locations/").json()
    assert listed["results"] == [] if isinstance(listed, dict) else listed == []
    for other in (mine, admins):
        assert api_as(carol).get(f"/api/v1/catalog/locations/{other.pk}/").status_code == 404
        assert api_as(carol).post(f"/api/v1/catalog/locations/{other.pk}/scan/").status_code == 404
    assert api_as(alice).get(f"/api/v1/catalog/locations/{mine.pk}/").status_code == 200
    assert api_as(alice).get(f"/api/v1/catalog/locations/{admins.pk}/").status_code == 404
    # A member sees it but only maintainers start scans.
    assert api_as(alice).post(f"/api/v1/catalog/locations/{mine.pk}/scan/").status_code == 403
    assert api_as(bob).post(f"/api/v1/catalog/locations/{mine.pk}/scan/").status_code == 202
    every = api_as(platform_admin).get("/api/v1/catalog/locations/").json()
    rows = every["results"] if isinstance(every, dict) else every
    assert {row["id"] for row in rows} == {mine.pk, admins.pk}


# --- GitHub organisations ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def github_server() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.start(free_port())
    yield fake
    fake.stop()


@pytest.fixture
def github(github_server: FakeGitHub, settings: Any) -> FakeGitHub:
    fake = github_server
    with fake.lock:
        fake.repos.clear()
        fake.requests.clear()
        fake.failures.clear()
    settings.GITHUB_API_URL = fake.url
    settings.GITHUB_TOKEN = "ghp_test_token"
    settings.GITHUB_APP_ID = ""
    settings.GITHUB_WEBHOOK_SECRET = WEBHOOK_SECRET
    fake.add_repo("acme/ledger")
    fake.add_file(
        "acme/ledger", "catalog-info.yaml", ROOT_FILE.format(description="x", api=API_DOC)
    )
    fake.add_repo("acme/ledger-worker", default_branch="trunk")
    fake.add_file("acme/ledger-worker", "catalog-info.yaml", WORKER_FILE)
    fake.add_repo("acme/no-catalog")
    fake.add_repo("acme/broken")
    fake.add_file("acme/broken", "catalog-info.yaml", "kind: [unclosed\n")
    fake.add_repo("other/elsewhere")
    fake.add_file("other/elsewhere", "catalog-info.yaml", WORKER_FILE.replace("ledger-", "x-"))
    return fake


@pytest.mark.slow
def test_a_github_organisation_is_read_through_the_api(
    github: FakeGitHub, bob: Any, teams: dict[str, Any]
) -> None:
    location = discovery.register_location(
        bob, LocationType.GITHUB_ORG, "acme", team=teams["payments"]
    )
    discovery.scan_location(location)
    location.refresh_from_db()
    files = {f["path"]: f for f in location.last_result["files"]}
    assert set(files) == {
        "acme/broken/catalog-info.yaml",
        "acme/ledger/catalog-info.yaml",
        "acme/ledger-worker/catalog-info.yaml",
    }
    assert "not valid YAML" in files["acme/broken/catalog-info.yaml"]["errors"][0]
    assert entity("API", "ledger-api").location_id == location.pk
    worker = entity("Component", "ledger-worker")
    assert worker.source_url == "https://github.com/acme/ledger-worker/blob/trunk/catalog-info.yaml"
    assert not Entity.objects.filter(name="x-worker").exists()  # another organisation
    # Read through the contents API on each default branch, never cloned.
    reads = github.requests_to("GET", r"/contents/catalog-info\.yaml$")
    assert {(r["path"].split("/")[3], r["query"].get("ref")) for r in reads} >= {
        ("ledger", "main"),
        ("ledger-worker", "trunk"),
    }

    # The file leaves a repository: its entities are orphaned, the others kept.
    del github.repos["acme/ledger-worker"].files[("trunk", "catalog-info.yaml")]
    discovery.scan_location(location)
    assert entity("Component", "ledger-worker").orphaned
    assert not entity("Component", "ledger").orphaned

    # GitHub refusing the organisation is recorded, not raised.
    github.fail(403, path_contains="/orgs/acme")
    discovery.scan_location(location)
    location.refresh_from_db()
    assert "403" in location.last_result["error"]
    assert not entity("Component", "ledger").orphaned  # nothing is known to be gone


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


def push_payload(full_name: str, branch: str, default_branch: str = "main") -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {
        "ref": f"refs/heads/{branch}",
        "before": "0" * 40,
        "after": "a" * 40,
        "repository": {
            "id": 1,
            "name": name,
            "full_name": full_name,
            "owner": {"login": owner, "name": owner},
            "html_url": f"https://github.com/{full_name}",
            "clone_url": f"https://github.com/{full_name}.git",
            "ssh_url": f"git@github.com:{full_name}.git",
            "default_branch": default_branch,
        },
        "pusher": {"name": "bob"},
    }


def send_push(client: Any, payload: dict[str, Any], *, signature: str | None = None) -> Any:
    body = json.dumps(payload).encode()
    return client.post(
        "/webhooks/github/",
        data=body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="push",
        HTTP_X_GITHUB_DELIVERY=str(uuid.uuid4()),
        HTTP_X_HUB_SIGNATURE_256=signature or sign(body),
    )


def test_a_push_matches_the_locations_of_its_repository(
    teams: dict[str, Any], platform_admin: Any
) -> None:
    payments = teams["payments"]
    https = discovery.register_location(
        platform_admin, LocationType.GIT, "https://github.com/Acme/Ledger", team=payments
    )
    ssh = discovery.register_location(
        platform_admin, LocationType.GIT, "git@github.com:acme/ledger.git", ref="release"
    )
    org = discovery.register_location(platform_admin, LocationType.GITHUB_ORG, "acme")
    discovery.register_location(platform_admin, LocationType.GIT, "https://github.com/acme/x")
    assert set(discovery.locations_for_push(push_payload("acme/ledger", "main"))) == {https, org}
    assert discovery.locations_for_push(push_payload("acme/ledger", "release")) == [ssh]
    assert discovery.locations_for_push(push_payload("acme/ledger", "feature")) == []
    assert discovery.locations_for_push({"ref": "refs/heads/main"}) == []


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_push_webhook_queues_a_scan_that_the_worker_runs(
    celery_worker: Any, github: FakeGitHub, client: Any, bob: Any, teams: dict[str, Any]
) -> None:
    location = discovery.register_location(
        bob, LocationType.GITHUB_ORG, "acme", team=teams["payments"]
    )
    # A bad signature is refused before anything is read.
    assert (
        send_push(client, push_payload("acme/ledger", "main"), signature="sha256=0").status_code
        == 401
    )
    # A push to another branch than the default: nothing queued.
    assert send_push(client, push_payload("acme/ledger", "feature")).status_code == 200
    time.sleep(1)
    location.refresh_from_db()
    assert location.last_scan_at is None

    answer = send_push(client, push_payload("acme/ledger", "main"))
    assert answer.status_code == 200 and answer.json()["event"] == "push"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        location.refresh_from_db()
        if location.last_scan_at is not None:
            break
        time.sleep(0.2)
    assert location.last_scan_at is not None, "the worker never scanned the location"
    assert entity("Component", "ledger").location_id == location.pk


def test_django_admin_lists_locations_and_refuses_bad_targets(
    admin_client: Any, teams: dict[str, Any]
) -> None:
    location = discovery.register_location(
        None,
        LocationType.GIT,
        "https://deploy:s3cret@git.example.com/a.git",
        team=teams["payments"],
    )
    page = admin_client.get("/admin/catalog/location/")
    assert page.status_code == 200 and f"/admin/catalog/location/{location.pk}/" in page.text
    added = admin_client.post(
        "/admin/catalog/location/add/",
        {"type": "git", "target": "http://plain.example.com/a.git", "ref": "", "enabled": "on"},
    )
    assert added.status_code == 200 and "Only https://" in added.text
    assert Location.objects.count() == 1
    # Registration is audited without the URL's credentials.
    from idp.models import AuditEvent

    event = AuditEvent.objects.get(action=discovery.AUDIT_LOCATION_REGISTERED)
    assert "s3cret" not in json.dumps(event.details) + event.target_repr
    assert event.team == teams["payments"] and event.details["location"] == location.pk
