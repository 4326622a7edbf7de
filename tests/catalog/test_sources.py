"""Template sources: real Git repositories made here (a bare origin, commits, tags, file://
URLs) registered through the API and management commands, synced into template versions;
signed tags, webhooks, and version semantics (semver order, deprecate, withdraw)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.choices import VersionStatus
from catalog.models import Template, TemplateSource, TemplateVersion
from catalog.services import sources
from idp.models import AuditEvent
from pipelines.webhooks import signature_ok
from tests.helpers import git

VARIABLES = """variable "message" {
  description = "A message."
  type        = string
  default     = "hi"
}
"""
MAIN = """resource "terraform_data" "note" {
  input = var.message
}

output "message" {
  description = "The message."
  value       = terraform_data.note.output
}
"""
YAML = """title: Note
description: A provider-free note.
category: testing
owner: payments
"""
CHANGELOG = """# Changelog

## v1.1.0
- Adds a size parameter.

## v1.0.0
- First release.
"""


class Origin:
    """A bare repository (what the source points at) and a working clone that pushes."""

    def __init__(self, root: Path, name: str = "note") -> None:
        self.bare = root / f"{name}.git"
        self.work = root / f"{name}-work"
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.bare)], check=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(self.work)], check=True)
        git(self.work, "remote", "add", "origin", str(self.bare))

    @property
    def url(self) -> str:
        return f"file://{self.bare}"

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "main")
        return git(self.work, "rev-parse", "HEAD")

    def tag(self, name: str, message: str = "", *extra: str) -> None:
        if message:
            git(self.work, "tag", "-a", name, "-m", message, *extra)
        else:
            git(self.work, "tag", name)
        git(self.work, "push", "-q", "origin", name)


def module(size: bool = False, prefix: str = "") -> dict[str, str]:
    variables = VARIABLES
    if size:
        variables += (
            '\nvariable "size" {\n  description = "A size."\n  type        = number\n'
            "  default     = 1\n}\n"
        )
    files = {"variables.tf": variables, "main.tf": MAIN, "template.yaml": YAML}
    return {f"{prefix}{k}": v for k, v in files.items()}


def current(template: Template) -> TemplateVersion:
    assert template.current_version is not None
    return template.current_version


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    """A repository with tags v1.0.0 and v1.1.0 of a provider-free module at its root."""
    repo = Origin(tmp_path / "git")
    first = repo.commit({**module(), "CHANGELOG.md": CHANGELOG}, "first")
    repo.tag("v1.0.0", "First release")
    repo.commit(module(size=True), "size")
    repo.tag("v1.1.0", "Sizes\n\nThe note gains a size.")
    repo.first = first  # type: ignore[attr-defined]
    return repo


@pytest.mark.slow
def test_done_when_a_repository_with_two_tags_gives_two_template_versions(
    db: None, api_as: Any, platform_admin: Any, origin: Origin, teams: Any
) -> None:
    api = api_as(platform_admin)
    answer = api.post(
        "/api/v1/template-sources/", {"url": origin.url, "ref_pattern": "v*"}, format="json"
    )
    assert answer.status_code == 201, answer.content
    source_id = answer.json()["id"]
    assert answer.json()["sync_state"] == "queued"
    # What the worker does with the nudge.
    result = sources.run_queued(source_id)
    assert result is not None and result.as_json()["ok"], result

    detail = api.get(f"/api/v1/template-sources/{source_id}/").json()
    assert [v["label"] for v in detail["versions"]] == ["v1.0.0", "v1.1.0"]
    assert detail["last_sync_result"]["ok"] is True
    assert detail["versions"][0]["source_commit"] == origin.first  # type: ignore[attr-defined]

    template = Template.objects.get(slug="note")
    assert template.source_id == source_id
    assert current(template).label == "v1.1.0"
    assert getattr(template.owner_team, "slug", None) == "payments"
    v11 = template.versions.get(label="v1.1.0")
    assert v11.semver == "1.1.0"
    assert "Sizes" in v11.changelog and "Adds a size parameter." in v11.changelog
    assert "Added parameters size" in v11.changelog
    v10 = template.versions.get(label="v1.0.0")
    assert "First release." in v10.changelog and "Adds a size" not in v10.changelog
    # The catalog API shows both versions.
    assert api.get("/api/v1/templates/note/").status_code == 200
    listed = api.get("/api/v1/templates/note/").json()
    assert listed["version_label"] == "1.1.0"
    shown = api.get(f"/api/v1/templates/note/versions/{v10.number}/").json()
    assert shown["version_label"] == "1.0.0" and shown["status"] == "active"
    assert shown["source_commit"] == origin.first  # type: ignore[attr-defined]

    # A second sync finds nothing new; a new tag becomes a new version.
    assert sources.sync_source(TemplateSource.objects.get(pk=source_id)).created == []
    origin.commit({"README.md": "# Note\n"}, "docs")
    origin.tag("v1.1.1")
    origin.tag("other-tag")  # does not match v*
    result = sources.sync_source(TemplateSource.objects.get(pk=source_id))
    assert result.created == ["note 1.1.1"]
    template.refresh_from_db()
    assert current(template).label == "v1.1.1"
    # Withdrawn through the API (platform admins), with a reason.
    url = f"/api/v1/templates/note/versions/{v10.number}/status/"
    assert api.post(url, {"status": "gone"}, format="json").status_code == 400
    answer = api.post(url, {"status": "withdrawn", "reason": "CVE-1"}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "withdrawn"
    assert api.post("/api/v1/templates/note/versions/99/status/", {"status": "active"},
                    format="json").status_code == 404  # fmt: skip
    assert AuditEvent.objects.filter(action="template_source.registered").count() == 1
    assert AuditEvent.objects.filter(action="template_source.synced").count() == 3


def test_only_platform_admins_register_and_bad_input_names_the_field(
    db: None, api_as: Any, platform_admin: Any, alice: Any, origin: Origin
) -> None:
    assert (
        api_as(alice).post("/api/v1/template-sources/", {"url": origin.url}, format="json")
    ).status_code == 403
    assert api_as(alice).get("/api/v1/template-sources/").status_code == 403
    assert api_as(None).get("/api/v1/template-sources/").status_code == 401
    api = api_as(platform_admin)
    bad = api.post("/api/v1/template-sources/", {"url": "ftp://x/y"}, format="json")
    assert bad.status_code == 400 and "url" in bad.json()["detail"]
    bad = api.post(
        "/api/v1/template-sources/", {"url": origin.url, "paths": ["../etc"]}, format="json"
    )
    assert bad.status_code == 400 and "paths" in bad.json()["detail"]
    bad = api.post(
        "/api/v1/template-sources/", {"url": origin.url, "ref_pattern": "--upload-pack=x"},
        format="json",
    )  # fmt: skip
    assert bad.status_code == 400 and "ref_pattern" in bad.json()["detail"]
    ok = api.post(
        "/api/v1/template-sources/",
        {"url": origin.url, "webhook_secret": "s3cret"},
        format="json",
    )
    assert ok.status_code == 201 and "s3cret" not in ok.content.decode()
    assert ok.json()["has_webhook_secret"] is True
    again = api.post("/api/v1/template-sources/", {"url": origin.url}, format="json")
    assert again.status_code == 409
    assert api.get("/api/v1/template-sources/999/").status_code == 404
    sync = api.post(f"/api/v1/template-sources/{ok.json()['id']}/sync/")
    assert sync.status_code == 202 and sync.json()["status"] == "queued"


def test_sub_paths_branch_channel_and_broken_tags(db: None, tmp_path: Path) -> None:
    repo = Origin(tmp_path / "mono", name="modules")
    repo.commit({**module(prefix="modules/queue/"), **module(prefix="modules/topic/")})
    repo.tag("v0.1.0")
    repo.commit({"modules/topic/variables.tf": "variable {"}, "broken")
    repo.tag("v0.2.0")
    call_command(
        "add_template_source",
        repo.url,
        "--path",
        "modules/queue",
        "--path",
        "modules/topic",
    )
    source = TemplateSource.objects.get()
    assert source.paths == ["modules/queue", "modules/topic"]
    with pytest.raises(CommandError, match="had errors"):
        call_command("sync_template_sources", str(source.pk))
    labels = sorted(TemplateVersion.objects.values_list("template__slug", "label"))
    assert labels == [
        ("queue", "v0.1.0"),
        ("queue", "v0.2.0"),
        ("topic", "v0.1.0"),
    ]
    source.refresh_from_db()
    failed = source.last_sync_result["failed"]
    assert list(failed) == ["modules/topic@v0.2.0"]
    assert "variables.tf" in failed["modules/topic@v0.2.0"]
    # Two tags with the same files are still two versions.
    assert TemplateVersion.objects.get(template__slug="queue", label="v0.2.0").content_hash == (
        TemplateVersion.objects.get(template__slug="queue", label="v0.1.0").content_hash
    )

    # A branch channel: one version per new commit on the branch.
    channel = sources.register_source(
        None, repo.url, ref_type="branch", ref_pattern="main", paths=["modules/queue"]
    )
    # The queue template already belongs to the tag source: the channel may not add to it.
    result = sources.sync_source(channel)
    assert result.created == []
    assert "another template source" in str(result.failed)


def test_branch_channel_versions(db: None, tmp_path: Path) -> None:
    repo = Origin(tmp_path / "b", name="latest-note")
    head = repo.commit(module())
    source = sources.register_source(None, repo.url, ref_type="branch", ref_pattern="main")
    assert sources.sync_source(source).created == [f"latest-note main@{head[:12]}"]
    head2 = repo.commit(module(size=True))
    assert sources.sync_source(source).created == [f"latest-note main@{head2[:12]}"]
    template = Template.objects.get(slug="latest-note")
    assert current(template).source_commit == head2


def test_signed_tags_only_when_a_key_is_configured(db: None, tmp_path: Path) -> None:
    gnupg = tmp_path / "gnupg"
    gnupg.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(gnupg)}
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "release@example.com",
         "ed25519", "sign", "never"],
        env={**os.environ, **env}, check=True, capture_output=True,
    )  # fmt: skip
    public = subprocess.run(
        ["gpg", "--armor", "--export", "release@example.com"],
        env={**os.environ, **env}, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    repo = Origin(tmp_path / "signed")
    repo.commit(module())
    git(repo.work, "tag", "-s", "-u", "release@example.com", "v1.0.0", "-m", "signed", env=env)
    git(repo.work, "push", "-q", "origin", "v1.0.0")
    repo.commit(module(size=True))
    repo.tag("v1.1.0", "not signed")
    repo.commit({"README.md": "x"})
    repo.tag("v1.2.0")  # lightweight

    source = sources.register_source(None, repo.url, signing_key=public)
    result = sources.sync_source(source)
    assert result.created == ["note 1.0.0"]
    assert set(result.refused) == {"v1.1.0", "v1.2.0"}
    assert all(r.startswith("signature not verified") for r in result.refused.values())
    assert TemplateVersion.objects.get(label="v1.0.0").signature_verified is True


def test_a_signing_key_that_is_not_a_key_is_refused(db: None, origin: Origin) -> None:
    with pytest.raises(Exception, match="allowed-signers"):
        sources.register_source(None, origin.url, signing_key="nonsense")


def test_github_push_of_a_tag_and_the_generic_webhook_queue_syncs(
    db: None, client: Any, settings: Any, origin: Origin, django_capture_on_commit_callbacks: Any
) -> None:
    settings.GITHUB_WEBHOOK_SECRET = "gh-secret"
    source = sources.register_source(None, origin.url, webhook_secret="generic-secret")
    TemplateSource.objects.filter(pk=source.pk).update(status="idle")
    payload = {
        "ref": "refs/tags/v1.1.0",
        "repository": {"clone_url": origin.url, "default_branch": "main"},
    }
    body = json.dumps(payload).encode()
    import hashlib
    import hmac

    signature = "sha256=" + hmac.new(b"gh-secret", body, hashlib.sha256).hexdigest()
    assert signature_ok(body, signature, "gh-secret")
    answer = client.post(
        "/webhooks/github/",
        body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": signature, "X-GitHub-Event": "push",
                 "X-GitHub-Delivery": "d1"},
    )  # fmt: skip
    assert answer.status_code == 200
    source.refresh_from_db()
    assert source.sync_state == "queued"

    # A tag that does not match the pattern queues nothing.
    TemplateSource.objects.filter(pk=source.pk).update(status="idle")
    assert sources.push_received({**payload, "ref": "refs/tags/nightly"}) == 0

    body = json.dumps({"url": origin.url, "ref": "refs/tags/v1.1.0"}).encode()
    refused = client.post(
        "/webhooks/template-sources/",
        body,
        content_type="application/json",
        headers={"X-IDP-Signature-256": sources.sign_body(body, "wrong")},
    )
    assert refused.status_code == 401
    source.refresh_from_db()
    assert source.sync_state == "idle"
    answer = client.post(
        "/webhooks/template-sources/",
        body,
        content_type="application/json",
        headers={"X-IDP-Signature-256": sources.sign_body(body, "generic-secret")},
    )
    assert answer.status_code == 200 and answer.json()["queued"] == [source.pk]
    source.refresh_from_db()
    assert source.sync_state == "queued"
    assert sources.run_queued(source.pk) is not None
    assert sources.run_queued(source.pk) is None  # a duplicate message finds nothing queued
    assert Template.objects.get(slug="note").versions.count() == 2


def test_sweeper_queues_due_sources_and_fails_lost_syncs(db: None, origin: Origin) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from idp.jobs.sweep import reap_lost

    source = sources.register_source(None, origin.url)
    # A sync on its last attempt whose worker stopped beating an hour ago.
    TemplateSource.objects.filter(pk=source.pk).update(
        status="running",
        attempts=sources.SOURCE_SYNC.max_attempts,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    assert reap_lost(sources.SOURCE_SYNC) == 1
    source.refresh_from_db()
    assert source.sync_state == "idle" and source.status == "failed"
    assert "lost" in source.last_sync_result["error"] and "lost" in source.error
    # Synced an hour ago: due again.
    assert sources.queue_due_syncs() == 0  # just "synced" (failed) now
    TemplateSource.objects.filter(pk=source.pk).update(
        last_sync_at=timezone.now() - timedelta(hours=1)
    )
    assert sources.queue_due_syncs() == 1


def test_semver_order_deprecate_and_withdraw(
    db: None, origin: Origin, platform_admin: Any, alice: Any, client_as: Any
) -> None:
    origin.commit({"README.md": "patch"})
    origin.tag("v1.0.1")  # tagged after v1.1.0, lower in semver
    origin.commit({"README.md": "rc"})
    origin.tag("v2.0.0-rc.1")
    source = sources.register_source(None, origin.url)
    sources.sync_source(source)
    template = Template.objects.get(slug="note")
    by_sort = list(template.versions.order_by("sort_key").values_list("label", flat=True))
    assert by_sort == ["v1.0.0", "v1.0.1", "v1.1.0", "v2.0.0-rc.1"]
    assert current(template).label == "v1.1.0"  # pre-releases are not the default

    v11 = template.versions.get(label="v1.1.0")
    with pytest.raises(Exception, match="Only platform admins"):
        sources.set_version_status(v11, VersionStatus.WITHDRAWN, actor=alice)
    sources.set_version_status(v11, VersionStatus.DEPRECATED, actor=platform_admin, reason="old")
    # The request page of a deprecated current version warns.
    page = client_as(platform_admin).get("/catalog/templates/note/request/").content.decode()
    assert "This version is deprecated: old" in page
    assert "deprecated: old" in sources.version_warning(TemplateVersion.objects.get(pk=v11.pk))
    sources.set_version_status(v11, VersionStatus.WITHDRAWN, actor=platform_admin, reason="CVE")
    template.refresh_from_db()
    assert current(template).label == "v1.0.1"
    assert sources.version_refusal(template.versions.get(label="v1.1.0")).endswith(
        "is withdrawn: CVE"
    )
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"template.version_deprecated", "template.version_withdrawn"} <= actions


def test_declared_safety_is_a_claim_the_plan_decides(db: None, tmp_path: Path) -> None:
    repo = Origin(tmp_path / "safe")
    repo.commit(module())
    repo.tag("v1.0.0")
    repo.commit(
        {**module(size=True), "template.yaml": YAML + 'upgrade:\n  safe_from: [">=1.0.0,<1.1.0"]\n'}
    )
    repo.tag("v1.1.0")
    sources.sync_source(sources.register_source(None, repo.url))
    old = TemplateVersion.objects.get(label="v1.0.0")
    new = TemplateVersion.objects.get(label="v1.1.0")
    assert new.declared_safe_from == [">=1.0.0,<1.1.0"]
    quiet = sources.upgrade_safety(old, new, {"destroy": 0, "resources": []})
    assert quiet == {"declared_safe": True, "safe": True, "reasons": []}
    replacing = sources.upgrade_safety(
        old,
        new,
        {"destroy": 1, "resources": [{"address": "terraform_data.note", "action": "replace"}]},
    )
    assert replacing["declared_safe"] is True and replacing["safe"] is False
    assert sources.upgrade_safety(old, new)["safe"] is None
    assert sources.declared_safe(new, old) is False


def test_changelog_section() -> None:
    assert sources.changelog_section(CHANGELOG, "v1.0.0") == "- First release."
    assert sources.changelog_section("## [1.1.0] - 2026\n- x\n## 1.0.0\n- y", "v1.1.0") == "- x"
    assert sources.changelog_section(CHANGELOG, "v9.9.9") == ""


def test_a_withdrawn_version_takes_no_new_requests(
    db: None, api_as: Any, client_as: Any, alice: Any, origin: Origin, teams: Any
) -> None:
    from idp import services as idp_services

    idp_services.upsert_environment("dev", name="Development", order=10)
    sources.sync_source(sources.register_source(None, origin.url))
    template = Template.objects.get(slug="note")
    v10 = template.versions.get(label="v1.0.0")

    def request(name: str) -> Any:
        return api_as(alice).post(
            "/api/v1/resources/",
            {"template": "note", "version": v10.number, "team": "payments",
             "environment": "dev", "name": name, "parameters": {}},
            format="json",
        )  # fmt: skip

    made = request("n1")
    assert made.status_code == 201, made.content
    assert sources.withdrawn_resources().count() == 0
    sources.set_version_status(v10, VersionStatus.WITHDRAWN, reason="broken")
    answer = request("n2")
    assert answer.status_code == 400, answer.content
    assert "withdrawn" in str(answer.json()["detail"]["version"])
    # The existing resource stays, flagged, and its page says so.
    flagged = sources.withdrawn_resources()
    assert [r.name for r in flagged] == ["n1"]
    assert [r.name for r in sources.withdrawn_resources(v10)] == ["n1"]
    page = client_as(alice).get(f"/resources/{made.json()['id']}/")
    assert page.status_code == 200 and "withdrawn" in page.content.decode()
    # The template page shows the tags, the changelog and the badge.
    page = client_as(alice).get("/catalog/templates/note/").content.decode()
    assert "1.1.0" in page and "First release." in page and ">withdrawn<" in page


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_syncs_a_registered_source(
    celery_worker: Any, api_as: Any, platform_admin: Any, origin: Origin
) -> None:
    answer = api_as(platform_admin).post(
        "/api/v1/template-sources/", {"url": origin.url}, format="json"
    )
    assert answer.status_code == 201
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        source = TemplateSource.objects.get(pk=answer.json()["id"])
        if source.last_sync_at is not None and source.sync_state == "idle":
            break
        time.sleep(0.2)
    assert source.last_sync_result.get("created") == ["note 1.0.0", "note 1.1.0"]


def test_the_benchmark_section_syncs_a_source_and_cleans_up(db: None) -> None:
    from benchmarks import sources as bench

    row = bench.measure(tags=3)
    assert row["versions_created"] == 3 and row["quiet_created"] == 0 and not row["errors"]
    assert not TemplateSource.objects.exists() and not Template.objects.exists()


def test_admin_registers_a_source_and_withdraws_a_version(
    db: None, admin_client: Any, admin_user: Any, origin: Origin
) -> None:
    client = admin_client
    answer = client.post(
        "/admin/catalog/templatesource/add/",
        {"url": origin.url, "ref_type": "tags", "ref_pattern": "v*", "paths": "[]",
         "signing_key": "", "webhook_secret": "hook-secret"},
    )  # fmt: skip
    assert answer.status_code == 302, answer.content.decode()[-2000:]
    again = client.post(
        "/admin/catalog/templatesource/add/",
        {"url": "ftp://nope", "ref_type": "tags", "ref_pattern": "v*", "paths": "[]"},
    )
    assert again.status_code == 200 and "Only https://" in again.content.decode()
    source = TemplateSource.objects.get()
    assert source.webhook_secret == "hook-secret" and source.sync_state == "queued"
    sources.run_queued(source.pk)
    listing = client.get("/admin/catalog/templatesource/").content.decode()
    assert "hook-secret" not in listing
    version = TemplateVersion.objects.get(label="v1.1.0")
    answer = client.post(
        "/admin/catalog/templateversion/",
        {"action": "withdraw_versions", "_selected_action": [version.pk]},
    )
    assert answer.status_code == 302
    version.refresh_from_db()
    assert version.status == "withdrawn"
    assert AuditEvent.objects.filter(action="template.version_withdrawn", actor=admin_user).exists()


def test_symlinks_in_a_repository_never_reach_the_workers_disk(db: None, tmp_path: Path) -> None:
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "CHANGELOG.md").write_text("## v1.0.0\nworker-secret\n")
    for name, text in module().items():
        (secret / name).write_text(text)
    repo = Origin(tmp_path / "links")
    (repo.work / "modules").mkdir()
    (repo.work / "modules" / "evil").symlink_to(secret)
    (repo.work / "CHANGELOG.md").symlink_to(secret / "CHANGELOG.md")
    repo.commit(module(prefix="modules/good/"))
    repo.tag("v1.0.0")
    source = sources.register_source(None, repo.url, paths=["modules/good", "modules/evil"])
    result = sources.sync_source(source)
    assert result.created == ["good 1.0.0"]
    assert "no such folder" in result.failed["modules/evil@v1.0.0"]
    assert "worker-secret" not in TemplateVersion.objects.get().changelog


def test_ssh_signed_tags_and_a_moved_tag(db: None, tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = (tmp_path / "id_ed25519.pub").read_text().strip()
    repo = Origin(tmp_path / "ssh")
    repo.commit(module())
    git(repo.work, "-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "tag", "-s",
        "v1.0.0", "-m", "signed with ssh")  # fmt: skip
    git(repo.work, "push", "-q", "origin", "v1.0.0")
    repo.commit(module(size=True))
    repo.tag("v1.1.0", "unsigned")
    source = sources.register_source(None, repo.url, signing_key=f"t@example.com {public}")
    result = sources.sync_source(source)
    assert result.created == ["note 1.0.0"] and list(result.refused) == ["v1.1.0"]

    # v1.0.0 re-pointed at another commit: reported, the version keeps its commit.
    first = TemplateVersion.objects.get(label="v1.0.0").source_commit
    git(repo.work, "-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "tag", "-f",
        "-s", "v1.0.0", "-m", "moved")  # fmt: skip
    git(repo.work, "push", "-q", "-f", "origin", "v1.0.0")
    result = sources.sync_source(source)
    assert result.moved == ["v1.0.0"]
    assert TemplateVersion.objects.get(label="v1.0.0").source_commit == first


def test_a_folder_and_a_source_never_share_a_template(
    db: None, origin: Origin, write_template: Any, tmp_path: Path
) -> None:
    from catalog.services import sync_templates

    sources.sync_source(sources.register_source(None, origin.url))
    write_template("note")  # a local folder of the same name
    report = sync_templates()
    assert "comes from a template source" in report.failed["note"]
    assert Template.objects.get(slug="note").versions.count() == 2

    write_template("mini")
    assert sync_templates(only=["mini"]).ok
    other = Origin(tmp_path / "o2", name="mini")
    other.commit(module())
    other.tag("v1.0.0")
    result = sources.sync_source(sources.register_source(None, other.url))
    assert "already comes from a local folder" in result.failed[".@v1.0.0"]
