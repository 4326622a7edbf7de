"""Docs like TechDocs: real git repositories made here, real `mkdocs build` with
mkdocs-techdocs-core, served under the entity, searchable, errors for the owner only."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.choices import DocsStatus, EntityKind, EntityOrigin, LocationType
from catalog.models import DocsBuild, Entity, Location
from catalog.software.services import docs
from tests.helpers import git, wait_for

pytestmark = pytest.mark.slow

MKDOCS_YML = "site_name: Payments API\nnav:\n  - Home: index.md\n  - Guide: guide.md\n"
INDEX_MD = "# Payments API\n\nHow the payments API settles a **unicorn** invoice.\n"
GUIDE_MD = "# Guide\n\nRotate the ledger keys every quarter.\n\n![diagram](diagram.svg)\n"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4"/></svg>'


def commit_files(repo: Path, files: dict[str, str], message: str = "docs") -> str:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "payments-api"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit_files(
        path,
        {
            "mkdocs.yml": MKDOCS_YML,
            "docs/index.md": INDEX_MD,
            "docs/guide.md": GUIDE_MD,
            "docs/diagram.svg": SVG,
        },
    )
    return path


@pytest.fixture
def component(db: None, teams: dict[str, Any], repo: Path) -> Entity:
    """A component of payments, discovered at a registered Git location (a local path)."""
    location = Location.objects.create(
        type=LocationType.GIT, target=str(repo), team=teams["payments"]
    )
    return Entity.objects.create(
        kind=EntityKind.COMPONENT,
        name="payments-api",
        owner_ref="group:default/payments",
        team=teams["payments"],
        origin=EntityOrigin.LOCATION,
        location=location,
        annotations={docs.TECHDOCS_REF: "dir:."},
        spec={"type": "service", "lifecycle": "production", "owner": "payments"},
    )


@pytest.fixture
def scratch_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any) -> Path:
    """The process's temporary folder, empty, so a leftover build folder shows (the jobs'
    folders are made in it too)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    settings.IDP_JOB_WORK_DIR = str(folder / "jobs")
    return folder


def leftovers(scratch: Path) -> list[Path]:
    """What a build left in the temporary folder (the jobs' empty root is not a leftover)."""
    return [p for p in scratch.rglob("*") if p != scratch / "jobs"]


def docs_url(entity: Entity, tail: str = "docs/") -> str:
    return f"/catalog/entities/component/{entity.namespace}/{entity.name}/{tail}"


def test_build_serves_searches_and_skips_an_unchanged_commit(
    component: Entity, repo: Path, scratch_tmp: Path, alice: Any, carol: Any, client_as: Any
) -> None:
    head = git(repo, "rev-parse", "HEAD")

    build = docs.build_docs(component)

    assert build.status == DocsStatus.SUCCEEDED, build.log
    assert build.commit == head
    assert {"index.html", "guide/index.html", "diagram.svg"} <= set(build.files)
    assert not any(name.endswith((".js", ".map")) for name in build.files)
    assert "techdocs-core" not in build.log or "mkdocs build" in build.log
    assert leftovers(scratch_tmp) == []  # the clone and the site are gone

    # Served under the entity to any signed-in user (a component is the shared map).
    client = client_as(carol)
    page = client.get(docs_url(component))
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="docs-frame"' in text and 'sandbox="allow-same-origin' in text
    assert "allow-scripts" not in text
    assert 'id="build-docs"' not in text  # carol is not in payments

    site = client.get(docs_url(component, "docs-site/"))
    assert site.status_code == 200
    body = site.content.decode()
    assert "unicorn" in body and "Payments API" in body
    csp = site["Content-Security-Policy"]
    assert csp.startswith("sandbox allow-same-origin") and "script-src 'none'" in csp
    assert site["X-Frame-Options"] == "SAMEORIGIN"

    guide = client.get(docs_url(component, "docs-site/guide/"))
    assert guide.status_code == 200 and "ledger keys" in guide.content.decode()
    assert client.get(docs_url(component, "docs-site/guide")).status_code == 302
    svg = client.get(docs_url(component, "docs-site/diagram.svg"))
    assert svg.status_code == 200 and svg["Content-Type"].startswith("image/svg+xml")
    css = next(name for name in build.files if name.endswith(".css"))
    assert client.get(docs_url(component, f"docs-site/{css}"))["Content-Type"].startswith(
        "text/css"
    )
    assert client.get(docs_url(component, "docs-site/../../secret")).status_code == 404
    assert client.get(docs_url(component, "docs-site/nope.html")).status_code == 404

    # Searchable: the page text, not the navigation.
    hits = docs.search_docs(carol, "ledger keys")
    assert [(h.entity.pk, h.path) for h in hits] == [(component.pk, "guide/index.html")]
    assert docs.search_docs(carol, "no such words anywhere") == []
    found = client.get("/catalog/docs/search/", {"q": "unicorn"}).content.decode()
    assert docs_url(component) in found and "unicorn" in found

    # The same commit again: skipped, no new row.
    again = docs.build_docs(component)
    assert again.pk == build.pk
    assert DocsBuild.objects.filter(entity=component).count() == 1
    assert leftovers(scratch_tmp) == []

    # A new commit builds again and is the one served.
    new_head = commit_files(repo, {"docs/index.md": "# Payments API\n\nNow with dragons.\n"})
    newer = docs.build_docs(component)
    assert newer.pk != build.pk and newer.commit == new_head
    assert "dragons" in client.get(docs_url(component, "docs-site/")).content.decode()
    assert docs.search_docs(alice, "unicorn") == []  # only the latest build is searched


def test_a_broken_mkdocs_yml_fails_with_its_error_shown_to_the_owner_only(
    component: Entity,
    repo: Path,
    scratch_tmp: Path,
    alice: Any,
    carol: Any,
    client_as: Any,
) -> None:
    commit_files(repo, {"mkdocs.yml": "site_name: Payments API\nnav: 5\n"})

    build = docs.build_docs(component)

    assert build.status == DocsStatus.FAILED
    assert "mkdocs build failed" in build.log and "nav" in build.log
    assert leftovers(scratch_tmp) == []
    # The owner team sees why …
    owner_page = client_as(alice).get(docs_url(component)).content.decode()
    assert 'id="docs-error"' in owner_page and "mkdocs build failed" in owner_page
    assert 'id="build-docs"' in owner_page
    # … another team only that there are no docs.
    other_page = client_as(carol).get(docs_url(component)).content.decode()
    assert 'id="docs-empty"' in other_page
    assert "docs-error" not in other_page and "mkdocs build failed" not in other_page


@pytest.mark.parametrize(
    ("files", "symlink", "expected"),
    [
        ({"mkdocs.yml": "site_name: x\nhooks:\n  - evil.py\n"}, None, "'hooks' is not allowed"),
        (
            {"mkdocs.yml": "site_name: x\nplugins:\n  - techdocs-core\n  - macros\n"},
            None,
            "'plugins.macros' is not allowed",
        ),
        ({"mkdocs.yml": "site_name: x\ndocs_dir: ../../\n"}, None, "outside the repository"),
        ({}, "docs/passwd.md", "links outside the repository"),
        ({"mkdocs.yml": "site_name: !!python/name:os.system\n"}, None, "is not allowed"),
        (
            {"mkdocs.yml": "site_name: x\nmarkdown_extensions:\n  - pymdownx.b64\n"},
            None,
            "pymdownx.b64",
        ),
    ],
)
def test_unsafe_configurations_are_refused(
    component: Entity,
    repo: Path,
    scratch_tmp: Path,
    files: dict[str, str],
    symlink: str | None,
    expected: str,
) -> None:
    if symlink:
        (repo / symlink).symlink_to("/etc/passwd")
    commit_files(repo, files or {"docs/extra.md": "# x\n"})

    build = docs.build_docs(component)

    assert build.status == DocsStatus.FAILED
    assert expected in build.log, build.log
    assert build.files == {}
    assert leftovers(scratch_tmp) == []


def test_platform_secrets_never_reach_the_build(
    component: Entity, repo: Path, scratch_tmp: Path, settings: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("IDP_SECRET_KEY", "s3cret-value-of-the-platform")
    commit_files(repo, {"mkdocs.yml": "site_name: !ENV [IDP_SECRET_KEY, Fallback name]\n"})

    build = docs.build_docs(component)

    assert build.status == DocsStatus.SUCCEEDED, build.log
    assert "Fallback name" in build.files["index.html"]
    assert "s3cret" not in str(build.files) and "s3cret" not in build.log


def test_credentials_in_a_clone_url_are_kept_out_of_the_log(
    component: Entity, scratch_tmp: Path, settings: Any
) -> None:
    settings.IDP_DOCS_ALLOWED_HOSTS = ["127.0.0.1"]  # an internal Git server an admin allowed
    component.annotations = {
        docs.TECHDOCS_REF: "url:https://deploy:tok3n-value@127.0.0.1:1/org/repo.git"
    }
    component.location = None
    component.save()

    build = docs.build_docs(component)

    assert build.status == DocsStatus.FAILED
    assert "git clone failed" in build.log and "tok3n-value" not in build.log
    assert leftovers(scratch_tmp) == []


def test_only_the_owner_team_starts_a_build(
    component: Entity, alice: Any, carol: Any, make_user: Any, teams: Any, client_as: Any
) -> None:
    from idp.choices import Role

    viewer = make_user("vera", team=teams["payments"], role=Role.VIEWER)
    for outsider in (carol, viewer):
        response = client_as(outsider).post(docs_url(component, "docs-build/"))
        assert response.status_code == 403
    assert not DocsBuild.objects.filter(entity=component).exists()
    assert client_as(alice).get(docs_url(component, "docs-build/")).status_code == 405


def test_the_build_button_queues_a_build_the_worker_runs(
    celery_worker: Any, component: Entity, repo: Path, alice: Any, client_as: Any
) -> None:
    client = client_as(alice)

    response = client.post(docs_url(component, "docs-build/"))

    assert response.status_code == 302
    build = DocsBuild.objects.get(entity=component)
    done = wait_for(
        lambda: DocsBuild.objects.filter(
            pk=build.pk, status__in=[DocsStatus.SUCCEEDED, DocsStatus.FAILED]
        ).first(),
        "the docs build",
    )
    assert done.status == DocsStatus.SUCCEEDED, done.log
    assert done.commit == git(repo, "rev-parse", "HEAD")
    assert 'id="docs-frame"' in client.get(docs_url(component)).content.decode()
    # A second click for the same commit: the worker skips it and drops the row (the job
    # ends as cancelled, and the row goes just after).
    client.post(docs_url(component, "docs-build/"))
    wait_for(
        lambda: (
            not DocsBuild.objects.filter(
                entity=component,
                status__in=[DocsStatus.QUEUED, DocsStatus.BUILDING, DocsStatus.CANCELLED],
            ).exists()
        ),
        "the second build to be dropped",
    )
    assert list(DocsBuild.objects.filter(entity=component).values_list("pk", flat=True)) == [
        build.pk
    ]


def test_manage_py_build_docs(component: Entity, repo: Path, capsys: Any) -> None:
    call_command("build_docs", "component:default/payments-api")
    out = capsys.readouterr().out
    assert "built from" in out and git(repo, "rev-parse", "HEAD") in out
    with pytest.raises(CommandError, match="No entity"):
        call_command("build_docs", "payments-ap")
    commit_files(repo, {"mkdocs.yml": "site_name: x\nnav: 5\n"})
    with pytest.raises(CommandError, match="failed"):
        call_command("build_docs", "payments-api")


@pytest.mark.browser
def test_the_docs_tab_in_a_browser(
    transactional_db: None, component: Entity, alice: Any, page: Any
) -> None:
    from tests.browser_support import sign_in

    assert docs.build_docs(component).status == DocsStatus.SUCCEEDED
    sign_in(page, "alice", "pw-alice")

    page.goto(docs_url(component))

    frame = page.frame_locator("#docs-frame")
    frame.get_by_text("settles a").wait_for()
    # The stylesheet reached the sandboxed page (it loads with the session cookie): Material
    # lays the header out fixed/sticky, an unstyled page leaves it static.
    header = page.frame_locator("#docs-frame").locator("header").first
    assert header.evaluate("el => getComputedStyle(el).position") in ("sticky", "fixed")
    # Scripts never run in it: Material's inline script would define __md_scope.
    assert "__md_scope" in component.docs_builds.get().files["index.html"]
    assert frame.locator("body").evaluate("() => typeof __md_scope") == "undefined"
    shots = Path(tempfile.gettempdir()) / "shots" / "docs"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "docs-tab.png"), full_page=True)

    page.fill("input[name=q]", "ledger")
    page.click("form[role=search] button")
    page.wait_for_url("**/catalog/docs/search/**")
    page.locator("#docs-results a").first.click()
    page.frame_locator("#docs-frame").get_by_text("Rotate the ledger keys").wait_for()
    page.screenshot(path=str(shots / "docs-search-result.png"), full_page=True)


def test_the_sweeper_fails_lost_builds_and_resends_queued_ones(
    celery_worker: Any, component: Entity, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from idp.jobs.sweep import housekeeping

    settings.IDP_JOB_SWEEP_GRACE_SECONDS = 0
    # A build on its last attempt whose worker stopped beating, and one never sent.
    lost = DocsBuild.objects.create(
        entity=component,
        status=DocsStatus.BUILDING,
        attempts=docs.DOCS_BUILD.max_attempts,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    queued = DocsBuild.objects.create(entity=component, status=DocsStatus.QUEUED)

    # The message of `queued` was never sent (no transaction committed a nudge for it).
    report = housekeeping()[docs.DOCS_BUILD.name]

    assert report == {"reaped": 1, "resent": 1}
    lost.refresh_from_db()
    assert (
        lost.status == DocsStatus.FAILED and "worker running this docs build was lost" in lost.log
    )
    done = wait_for(
        lambda: DocsBuild.objects.filter(pk=queued.pk, status=DocsStatus.SUCCEEDED).first(),
        "the re-sent build",
    )
    assert done.files["index.html"]
