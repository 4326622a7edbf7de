"""The template sources page of platform admins: health per source (the last sync's errors in
words), add (the webhook secret shown once), sync now, versions deprecated and withdrawn; the
refusal of everyone else; and the health that follows the last sync, not every tag ever."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from catalog.choices import VersionStatus
from catalog.models import TemplateSource, TemplateVersion
from catalog.services import source_health, sources
from idp.models import AuditEvent
from tests.catalog.test_sources import Origin, module

PAGE = "/catalog/sources/"


def _text(response: Any) -> str:
    """The page's text with tags and runs of blanks folded (what a reader sees)."""
    html = response.content.decode()
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def broken_origin(tmp_path: Path) -> Origin:
    """v1.0.0 is fine; v1.1.0's variables.tf does not parse."""
    repo = Origin(tmp_path / "git")
    repo.commit(module(), "first")
    repo.tag("v1.0.0")
    repo.commit({"variables.tf": "variable {"}, "broken")
    repo.tag("v1.1.0")
    return repo


# --- The sentences (unit) -------------------------------------------------------------------


def test_every_error_shape_becomes_a_sentence() -> None:
    result = {
        "ok": False,
        "error": "git clone failed: fatal: repository 'https://host/x.git/' not found",
        "failed": {
            "modules/topic@v0.2.0": "variables.tf: Argument or block definition required",
            "v0.3.0": "unexpected KeyError",
            "modules/queue@v0.4.0": "modules/queue: no such folder at v0.4.0",
            ".@v0.5.0": "template 'note' already comes from another template source",
        },
        "refused": {"v0.6.0": "signature not verified: error: no signature found"},
        "moved": ["v0.1.0"],
        "skipped": {"v0.0.9": "v0.0.9: variables.tf: bad"},
    }
    assert source_health.error_sentences(result) == [
        "The repository could not be read: git clone failed: fatal: repository "
        "'https://host/x.git/' not found.",
        "Tag v0.2.0 (modules/topic) was not imported: the template is not valid: "
        "variables.tf: Argument or block definition required.",
        "Tag v0.3.0 was not imported: an unexpected error (KeyError) stopped the import; the "
        "worker's log has the details, and the next sync tries the tag again.",
        "Tag v0.4.0 (modules/queue) was not imported: the folder modules/queue does not exist "
        "at this tag.",
        "Tag v0.5.0 was not imported: template 'note' already comes from another template source.",
        "Tag v0.6.0 was refused: its signature does not match the source's signing key "
        "(error: no signature found).",
    ]
    assert source_health.skipped_sentences(result) == [
        "Tag v0.0.9 was skipped: it failed at the same commit in an earlier sync (v0.0.9: "
        "variables.tf: bad); move the tag or push a new one to try again.",
        "Tag v0.1.0 now points at another commit than when it was imported; its version keeps "
        "the files it was read from (push a new tag to publish the change).",
    ]


def test_other_error_shapes_are_read_as_far_as_they_go() -> None:
    assert source_health.error_sentences({}) == []
    assert source_health.error_sentences(None) == []
    assert source_health.error_sentences({"ok": True, "failed": {}, "refused": {}}) == []
    # Older or odd shapes: a list of labels, a lost worker, too many tags.
    assert source_health.error_sentences({"failed": ["v1"]}) == [
        "Tag v1 was not imported: no reason was recorded."
    ]
    assert source_health.source_error_sentence("worker lost after 3 attempts") == (
        "The sync did not finish: worker lost after 3 attempts."
    )
    assert source_health.source_error_sentence("1200 refs match '*'; at most 1000.") == (
        "Too many tags match the pattern: 1200 refs match '*'; at most 1000."
    )
    assert source_health.failure_sentence("v2", "git checkout failed: bad object") == (
        "Tag v2 was not imported: Git could not read it: git checkout failed: bad object."
    )
    never = source_health.health(TemplateSource(url="file:///x"))
    assert never.state == source_health.NEVER and not never.healthy
    odd = source_health.health(
        TemplateSource(url="file:///x", last_sync_at=timezone.now(), last_sync_result={"ok": False})
    )
    assert odd.state == source_health.FAILED
    assert odd.errors == ["The last sync failed without a recorded reason."]


# --- The page ---------------------------------------------------------------------------------


def test_admin_sees_health_and_a_failed_last_sync_in_words(
    db: None, client_as: Any, platform_admin: Any, broken_origin: Origin
) -> None:
    source = sources.register_source(None, broken_origin.url)
    sources.sync_source(source)
    client = client_as(platform_admin)

    listing = client.get(PAGE)
    assert listing.status_code == 200
    text = _text(listing)
    assert "Template sources" in text and broken_origin.url in text
    assert "last sync failed" in text
    assert "Tag v1.1.0 was not imported: the template is not valid: variables.tf" in text
    assert '"failed"' not in listing.content.decode()  # no raw JSON
    # The navigation links the page for platform admins.
    assert f'href="{PAGE}"' in listing.content.decode()

    detail = _text(client.get(f"{PAGE}{source.pk}/"))
    assert "last sync failed" in detail and "2 tags read" in detail
    assert "Tag v1.1.0 was not imported" in detail
    assert "note 1.0.0" in detail  # its version, by its one name
    assert "Secret none" in detail  # registered without a secret: none is shown


def test_a_member_is_refused_with_the_reason(
    db: None, client_as: Any, alice: Any, broken_origin: Origin
) -> None:
    source = sources.register_source(None, broken_origin.url)
    sources.sync_source(source)
    version = TemplateVersion.objects.get(label="v1.0.0")
    client = client_as(alice)
    home = client.get("/catalog/").content.decode()
    assert f'href="{PAGE}"' not in home  # no link for members
    for url in (PAGE, f"{PAGE}add/", f"{PAGE}{source.pk}/"):
        answer = client.get(url)
        assert answer.status_code == 403, url
        assert "Only platform admins manage template sources." in answer.content.decode()
        assert 'id="refusal-reason"' in answer.content.decode()
    posts = {
        f"{PAGE}add/": {"url": broken_origin.url, "ref_type": "tags", "ref_pattern": "v*"},
        f"{PAGE}{source.pk}/sync/": {},
        f"{PAGE}{source.pk}/webhook-secret/": {},
        f"{PAGE}{source.pk}/versions/{version.pk}/status/": {"status": "withdrawn"},
    }
    before = TemplateSource.objects.get(pk=source.pk)
    for url, data in posts.items():
        answer = client.post(url, data)
        assert answer.status_code == 403, url
        assert "Only platform admins" in answer.content.decode()
    after = TemplateSource.objects.get(pk=source.pk)
    assert TemplateSource.objects.count() == 1
    assert (after.status, after.webhook_secret) == (before.status, before.webhook_secret)
    assert TemplateVersion.objects.get(pk=version.pk).status == VersionStatus.ACTIVE


def test_posts_need_the_csrf_token(
    db: None, platform_admin: Any, broken_origin: Origin, settings: Any
) -> None:
    from django.test import Client

    source = sources.register_source(None, broken_origin.url)
    client = Client(enforce_csrf_checks=True)
    client.force_login(platform_admin, backend="django.contrib.auth.backends.ModelBackend")
    assert client.post(f"{PAGE}{source.pk}/sync/").status_code == 403
    assert client.post(f"{PAGE}add/", {"url": broken_origin.url}).status_code == 403
    page = client.get(f"{PAGE}{source.pk}/").content.decode()
    assert page.count("csrfmiddlewaretoken") >= 2  # sync now, rotate


def test_add_shows_the_secret_once_then_never(
    db: None,
    client_as: Any,
    platform_admin: Any,
    broken_origin: Origin,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_as(platform_admin)
    form = client.get(f"{PAGE}add/")
    assert form.status_code == 200 and "csrfmiddlewaretoken" in form.content.decode()
    # Bad input: the field says why, nothing is registered.
    bad = client.post(f"{PAGE}add/", {"url": "not a url", "ref_type": "tags"})
    assert bad.status_code == 400 and TemplateSource.objects.count() == 0
    assert 'id="field-url"' in bad.content.decode() and "errorlist" in bad.content.decode()

    with django_capture_on_commit_callbacks(execute=False) as nudges:
        added = client.post(
            f"{PAGE}add/",
            {"url": broken_origin.url, "ref_type": "tags", "ref_pattern": "v*", "paths": ""},
        )
    assert added.status_code == 201, _text(added)
    source = TemplateSource.objects.get()
    assert source.sync_state == "queued" and len(nudges) == 1  # its first sync
    assert len(source.webhook_secret) >= 32
    page = added.content.decode()
    assert source.webhook_secret in page
    assert added["Cache-Control"] == "no-store"
    assert "/webhooks/template-sources/" in page and "shown only this once" in page

    again = client.get(f"{PAGE}{source.pk}/").content.decode()
    assert source.webhook_secret not in again
    assert "set (shown once when it was made)" in _text(client.get(f"{PAGE}{source.pk}/"))
    assert source.webhook_secret not in client.get(PAGE).content.decode()
    # Never in the audit log either.
    for event in AuditEvent.objects.all():
        assert source.webhook_secret not in str(event.details)

    # The same source twice: the conflict is named beside the URL.
    twice = client.post(f"{PAGE}add/", {"url": broken_origin.url, "ref_type": "tags"})
    assert twice.status_code == 400
    assert "already registered" in twice.content.decode()

    # Rotate: a new secret shown once; the old one no longer signs.
    old = source.webhook_secret
    rotated = client.post(f"{PAGE}{source.pk}/webhook-secret/")
    source.refresh_from_db()
    assert rotated.status_code == 200 and source.webhook_secret != old
    assert source.webhook_secret in rotated.content.decode()
    assert source.webhook_secret not in client.get(f"{PAGE}{source.pk}/").content.decode()
    body = b'{"ref": "refs/tags/v1.0.0"}'
    assert sources.sources_for_signature(body, sources.sign_body(body, old)) == []
    assert sources.sources_for_signature(body, sources.sign_body(body, source.webhook_secret))
    assert AuditEvent.objects.filter(action="template_source.webhook_secret_rotated").exists()


def test_sync_now_queues_exactly_one_sync(
    db: None,
    client_as: Any,
    platform_admin: Any,
    broken_origin: Origin,
    django_capture_on_commit_callbacks: Any,
) -> None:
    source = sources.register_source(None, broken_origin.url)
    sources.sync_source(source)
    TemplateSource.objects.filter(pk=source.pk).update(status="succeeded")
    client = client_as(platform_admin)
    with django_capture_on_commit_callbacks(execute=False) as nudges:
        first = client.post(f"{PAGE}{source.pk}/sync/", follow=True)
        second = client.post(f"{PAGE}{source.pk}/sync/", follow=True)
    assert len(nudges) == 1  # one job message, however often asked
    assert "A sync is queued." in _text(first)
    assert "A sync was already queued." in _text(second)
    assert "sync queued" in _text(second)
    source.refresh_from_db()
    assert source.sync_state == "queued"
    # The worker's claim runs it once; nothing is left queued.
    assert sources.run_queued(source.pk) is not None
    assert sources.run_queued(source.pk) is None
    assert client.get(f"{PAGE}999/").status_code == 404
    assert client.get(f"{PAGE}{source.pk}/sync/").status_code == 405


def test_deprecate_and_withdraw_a_version(
    db: None, client_as: Any, platform_admin: Any, broken_origin: Origin
) -> None:
    broken_origin.commit(module(size=True), "fixed")
    broken_origin.tag("v1.2.0")
    source = sources.register_source(None, broken_origin.url)
    sources.sync_source(source)
    client = client_as(platform_admin)
    v10 = TemplateVersion.objects.get(label="v1.0.0")
    v12 = TemplateVersion.objects.get(label="v1.2.0")
    url = f"{PAGE}{source.pk}/versions/{{}}/status/"

    deprecated = client.post(
        url.format(v10.pk), {"status": "deprecated", "reason": "use 1.2"}, follow=True
    )
    assert "note 1.0.0 is now deprecated." in _text(deprecated)
    v10.refresh_from_db()
    assert (v10.status, v10.status_reason) == (VersionStatus.DEPRECATED, "use 1.2")

    withdrawn = client.post(url.format(v12.pk), {"status": "withdrawn", "reason": "CVE"})
    assert withdrawn.status_code == 302
    v12.refresh_from_db()
    assert v12.status == VersionStatus.WITHDRAWN
    assert v12.template.current_version_id == v10.pk  # the template's current one follows
    page = _text(client.get(f"{PAGE}{source.pk}/"))
    assert "withdrawn CVE" in page and "deprecated use 1.2" in page
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"template.version_deprecated", "template.version_withdrawn"} <= actions

    # Bad input is refused with the field; another source's version is not found.
    bad = client.post(url.format(v10.pk), {"status": "gone"}, follow=True)
    assert "Not changed: status:" in _text(bad)
    other = sources.register_source(None, broken_origin.url, ref_pattern="v1.0*")
    elsewhere = f"{PAGE}{other.pk}/versions/{v10.pk}/status/"
    assert client.post(elsewhere, {"status": "active"}).status_code == 404


def test_an_old_failed_tag_no_longer_makes_the_source_unhealthy(
    db: None, client_as: Any, platform_admin: Any, broken_origin: Origin
) -> None:
    source = sources.register_source(None, broken_origin.url)
    first = sources.sync_source(source)
    assert not first.as_json()["ok"] and ".@v1.1.0" in first.failed
    source.refresh_from_db()
    assert source_health.health(source).state == source_health.FAILED

    # A new good tag; the broken v1.1.0 is still there at the same commit.
    broken_origin.commit(module(size=True), "fixed")
    broken_origin.tag("v1.2.0")
    second = sources.sync_source(source)
    assert second.as_json()["ok"] is True, second
    assert second.created == ["note 1.2.0"] and second.failed == {}
    assert list(second.skipped) == ["v1.1.0"]
    source.refresh_from_db()
    health = source_health.health(source)
    assert health.healthy and health.errors == []
    assert health.skipped and health.skipped[0].startswith("Tag v1.1.0 was skipped")
    page = _text(client_as(platform_admin).get(PAGE))
    assert "healthy" in page and "last sync failed" not in page

    # It stays skipped, and a sync that could not read the repository keeps it in mind.
    assert list(sources.sync_source(source).skipped) == ["v1.1.0"]
    source.refresh_from_db()
    source.url = "file:///nonexistent/repo.git"
    lost = sources.sync_source(source)
    assert not lost.ok
    source.refresh_from_db()
    assert "v1.1.0" in source.last_sync_result["broken_refs"]
    assert source_health.health(source).errors[0].startswith("The repository could not be read")

    # Moving the tag to a good commit reads it again.
    source.url = broken_origin.url
    from tests.helpers import git

    git(broken_origin.work, "tag", "-f", "v1.1.0")
    git(broken_origin.work, "push", "-q", "-f", "origin", "v1.1.0")
    third = sources.sync_source(source)
    assert third.as_json()["ok"] is True
    assert "note 1.1.0" in third.created and third.skipped == {}


def test_the_api_says_the_same_in_words(
    db: None, api_as: Any, platform_admin: Any, broken_origin: Origin
) -> None:
    source = sources.register_source(None, broken_origin.url)
    api = api_as(platform_admin)
    assert api.get(f"/api/v1/template-sources/{source.pk}/").json()["health"] == "never synced"
    sources.sync_source(source)
    body = api.get(f"/api/v1/template-sources/{source.pk}/").json()
    assert body["health"] == "failed" and body["last_sync_skipped"] == []
    assert body["last_sync_errors"][0].startswith("Tag v1.1.0 was not imported")
    sources.sync_source(source)
    listed = api.get("/api/v1/template-sources/").json()["results"][0]
    assert listed["health"] == "healthy" and listed["last_sync_errors"] == []
    assert listed["last_sync_skipped"][0].startswith("Tag v1.1.0 was skipped")
