"""Template sources: Git repositories (or local folders) whose tags are template versions.

A platform admin registers a source (`register_source`): a Git URL or local path, a ref
pattern (`v*` tags by default, or a branch for a "latest" channel) and sub-paths, one
template each. `sync_source` fetches it with the real `git` (gitrepo: a bare clone into a
private temporary folder), and turns every matching tag into a TemplateVersion: label = tag,
semver when the tag is one, the source commit, changelog = the tag's message + its section
of CHANGELOG.md + what changed. A version, once made, is immutable: a moved tag is reported,
never re-read. With a signing key configured, only tags whose signature `git verify-tag`
accepts become versions.

A sync is the source row's job (idp/jobs, kind `SOURCE_SYNC`): `request_sync` queues it
and nudges a worker on commit (or records the request on a running sync, which then runs
once more), `run_queued` claims and runs it in a temporary folder with a heartbeat; the
jobs' housekeeping re-sends lost nudges, takes back syncs whose worker died (queued again,
their clone removed) and queues the scheduled ones (`queue_due_syncs`). GitHub push/tag
webhooks (`push_received`) and the generic signed webhook (`sources_for_signature`) queue
syncs of the sources of that repository.

Version semantics live here too: `set_version_status` (deprecate/withdraw, audited),
`version_refusal` (requests refuse withdrawn versions), `latest_version` (semver order)
and `upgrade_safety` (what the author declares vs what the plans measure).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import semver
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from idp import audit
from idp.actors import Person, signed_in
from idp.conf import setting
from idp.jobs import dispatch as jobs
from idp.jobs.models import JOB_ACTIVE, JobStatus
from idp.jobs.registry import JobKind, register
from idp.models import Team
from idp.rbac import is_platform_admin
from idp.services import Conflict, Forbidden, ServiceError

from ..choices import AuditAction, SourceRefType, VersionStatus
from ..models import Template, TemplateSource, TemplateVersion
from ..sensitivity import redact_credentials
from . import gitrepo
from .loader import ParsedTemplate, TemplateError, parse_template, read_files, valid_slug
from .sync import describe_changes

log = logging.getLogger(__name__)

MAX_REFS = 1000  # tags read per sync; more is a misconfigured pattern
REF_PATTERN = re.compile(r"^[\w.*?/\[\]-]{1,200}$")
PATH_RE = re.compile(r"^[\w.-]+(/[\w.-]+)*$")
SIGNATURE_BLOCK = re.compile(r"-----BEGIN (PGP|SSH) SIGNATURE-----.*", re.S)


# --- Results -------------------------------------------------------------------------------


@dataclass
class SyncResult:
    """What one sync of a source found and made."""

    ok: bool = True
    error: str = ""
    refs: int = 0
    created: list[str] = field(default_factory=list)
    unchanged: int = 0
    refused: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    moved: list[str] = field(default_factory=list)
    # Tags that failed or were refused at the same commit in an earlier sync: not read again
    # (the same files fail the same way), reported as skipped, and no longer make this sync
    # unhealthy. A tag moved to another commit is read again.
    skipped: dict[str, str] = field(default_factory=dict)
    # ref name -> {"commit", "reason"}: what the next sync skips (read from the last result).
    broken_refs: dict[str, dict[str, str]] = field(default_factory=dict)
    known_broken: dict[str, dict[str, str]] = field(default_factory=dict)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """`ok`: this sync read every tag it tried (failures of tags skipped as known broken
        belong to the sync that found them)."""
        return {
            "ok": self.ok and not self.failed and not self.refused,
            "error": self.error,
            "refs": self.refs,
            "created": self.created,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "failed": self.failed,
            "moved": self.moved,
            "skipped": self.skipped,
            "broken_refs": self.broken_refs,
            "seconds": round(self.seconds, 3),
            "finished_at": timezone.now().isoformat(),
        }


class SourceError(Exception):
    """The source as a whole could not be read (clone failed, bad key…)."""


@dataclass
class _Ref:
    name: str  # tag or branch name
    commit: str
    message: str
    is_tag: bool


# --- Registration ---------------------------------------------------------------------------


def key_kind(signing_key: str) -> str:
    """'gpg', 'ssh' or '' (no key) for a source's configured signing key."""
    text = signing_key.strip()
    if not text:
        return ""
    if "BEGIN PGP PUBLIC KEY BLOCK" in text:
        return "gpg"
    return "ssh"


def _check_signing_key(signing_key: str) -> str:
    text = signing_key.strip()
    if key_kind(text) == "ssh":
        # allowed-signers lines: `principal [options] keytype base64`
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        if not lines or not all(re.search(r"\b(ssh-|ecdsa-|sk-)\S+\s+\S+", ln) for ln in lines):
            raise ServiceError(
                "An armored GPG public key, or SSH allowed-signers lines (principal keytype key).",
                field="signing_key",
            )
    return text


def validate_source(
    url: str, ref_type: str, ref_pattern: str, paths: Any, *, admin: bool
) -> tuple[str, str, list[str]]:
    """(url, ref_pattern, paths) normalised; raises ServiceError naming the field."""
    url, error = gitrepo.validate_target("git", url or "", admin=admin)
    if error:
        raise ServiceError(error, field="url")
    if ref_type not in SourceRefType.values:
        raise ServiceError(
            f"ref_type must be one of {', '.join(SourceRefType.values)}.", field="ref_type"
        )
    ref_pattern = (ref_pattern or "").strip() or ("v*" if ref_type == SourceRefType.TAGS else "")
    if ref_pattern.startswith("-") or not REF_PATTERN.match(ref_pattern) or ".." in ref_pattern:
        raise ServiceError("A tag pattern such as v* or a branch name.", field="ref_pattern")
    if ref_type == SourceRefType.BRANCH and any(c in ref_pattern for c in "*?["):
        raise ServiceError("A branch channel names one branch (no wildcards).", field="ref_pattern")
    if paths in (None, ""):
        paths = []
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ServiceError("A list of sub-paths.", field="paths")
    clean = []
    for raw in paths:
        path = raw.strip().strip("/")
        if path in ("", "."):
            path = ""
        elif not PATH_RE.match(path) or any(part in (".", "..") for part in path.split("/")):
            raise ServiceError(f"{raw!r} is not a relative sub-path.", field="paths")
        if path not in clean:
            clean.append(path)
    if len(clean) > 100:
        raise ServiceError("At most 100 sub-paths.", field="paths")
    return url, ref_pattern, clean


def check_registration(
    url: str, ref_type: str, ref_pattern: str, paths: Any, signing_key: str, webhook_secret: str
) -> tuple[str, str, list[str], str]:
    """Every rule of a new source: (url, ref_pattern, paths, signing_key) normalised, or
    ServiceError/Conflict naming the field (the admin form shows them beside the field)."""
    url, ref_pattern, clean_paths = validate_source(url, ref_type, ref_pattern, paths, admin=True)
    signing_key = _check_signing_key(signing_key or "")
    if len(webhook_secret or "") > 200:
        raise ServiceError("At most 200 characters.", field="webhook_secret")
    if TemplateSource.objects.filter(url=url, ref_type=ref_type, ref_pattern=ref_pattern).exists():
        raise Conflict("This template source is already registered.", field="url")
    return url, ref_pattern, clean_paths, signing_key


@transaction.atomic
def register_source(
    actor: Person | None,
    url: str,
    *,
    ref_pattern: str = "v*",
    paths: list[str] | None = None,
    ref_type: str = SourceRefType.TAGS,
    signing_key: str = "",
    webhook_secret: str = "",
) -> TemplateSource:
    """Register a template source (platform admins; `actor=None` is the platform itself).
    Raises ServiceError (400), Forbidden (403) or Conflict (409). Its first sync is queued."""
    if actor is not None and not is_platform_admin(actor):
        raise Forbidden("Only platform admins register template sources.")
    url, ref_pattern, clean_paths, signing_key = check_registration(
        url, ref_type, ref_pattern, paths, signing_key, webhook_secret
    )
    source = TemplateSource.objects.create(
        url=url,
        ref_type=ref_type,
        ref_pattern=ref_pattern,
        paths=clean_paths,
        signing_key=signing_key,
        webhook_secret=webhook_secret or "",
        created_by=signed_in(actor),
    )
    audit.record(
        AuditAction.SOURCE_REGISTERED,
        actor=actor,
        # Not `target=source`: its text carries the URL, whose credentials stay out of the log.
        details={
            "source": source.pk,
            "url": redact_credentials(url),
            "ref_type": ref_type,
            "ref_pattern": ref_pattern,
            "paths": clean_paths,
            "signed": bool(signing_key),
        },
    )
    request_sync(source)
    return source


# --- Requests for syncs: the source's job (idp/jobs) -------------------------------------------


def request_sync(source: TemplateSource) -> str:
    """Queue a sync of the source and nudge a worker on commit; while one runs, the request
    is recorded and a sync follows it. `source` is read back from its row."""
    return jobs.request(SOURCE_SYNC, source)


SYNC_OUTCOMES = {
    jobs.QUEUED: "A sync is queued.",
    jobs.ALREADY_QUEUED: "A sync was already queued.",
    jobs.REQUESTED_AGAIN: "A sync is running; another follows it.",
}


def sync_now(source: TemplateSource, *, actor: Person) -> str:
    """A platform admin asks for a sync now (the portal's "Sync now"): the job is queued
    once however often it is asked. Returns what happened in words."""
    if not is_platform_admin(actor):
        raise Forbidden("Only platform admins sync template sources.")
    return SYNC_OUTCOMES.get(request_sync(source), "A sync is queued.")


def new_webhook_secret() -> str:
    """A fresh secret for a source's generic webhook (shown once, never again)."""
    return secrets.token_urlsafe(32)


@transaction.atomic
def rotate_webhook_secret(source: TemplateSource, *, actor: Person) -> str:
    """Replace the source's webhook secret with a new one and return it (shown once);
    senders signing with the old secret are refused from now on. Audited."""
    if not is_platform_admin(actor):
        raise Forbidden("Only platform admins rotate webhook secrets.")
    secret = new_webhook_secret()
    TemplateSource.objects.filter(pk=source.pk).update(webhook_secret=secret)
    source.webhook_secret = secret
    audit.record(
        AuditAction.SOURCE_WEBHOOK_ROTATED,
        actor=actor,
        details={"source": source.pk, "url": redact_credentials(source.url)},
    )
    return secret


def run_queued(source_id: int, *, task: Any = None) -> SyncResult | None:
    """The worker's entry: claim the source's queued sync and run it; None when nothing was
    queued (a duplicate message, or another worker has it) or the source is disabled."""
    done = jobs.execute(SOURCE_SYNC, source_id, _sync_job, task=task)
    return None if done is None else done.result


def _sync_job(source: TemplateSource, workdir: Path) -> jobs.Done:
    if not source.enabled:
        return jobs.Done(JobStatus.CANCELLED, "The source is disabled.")
    result = sync_source(source, workdir=workdir)
    return jobs.Done(JobStatus.SUCCEEDED if result.ok else JobStatus.FAILED, result.error, result)


def _known_broken(last_result: Any) -> dict[str, dict[str, str]]:
    """The tags the last sync found broken (or carried over), from its stored result."""
    broken = last_result.get("broken_refs") if isinstance(last_result, dict) else None
    if not isinstance(broken, dict):
        return {}
    return {
        str(name): {"commit": str(entry.get("commit", "")), "reason": str(entry.get("reason", ""))}
        for name, entry in broken.items()
        if isinstance(entry, dict) and entry.get("commit")
    }


def _sync_lost(source_id: int, requeued: bool, reason: str) -> None:
    """A sync whose worker died and is not tried again: its reason is the last result."""
    if not requeued:
        previous = (
            TemplateSource.objects.filter(pk=source_id)
            .values_list("last_sync_result", flat=True)
            .first()
        )
        result = SyncResult(ok=False, error=reason)
        result.broken_refs = _known_broken(previous)  # nothing was read: kept for the next
        TemplateSource.objects.filter(pk=source_id).update(
            last_sync_at=timezone.now(), last_sync_result=result.as_json()
        )


def queue_due_syncs() -> int:
    """The schedule: queue every enabled source not synced for IDP_TEMPLATE_SOURCE_SYNC_MINUTES
    (and not queued or syncing now). Returns how many."""
    due_before = timezone.now() - timedelta(minutes=setting("IDP_TEMPLATE_SOURCE_SYNC_MINUTES"))
    due = 0
    for source in (
        TemplateSource.objects.filter(enabled=True)
        .exclude(status__in=JOB_ACTIVE)
        .exclude(last_sync_at__gte=due_before)
    ):
        request_sync(source)
        due += 1
    return due


SOURCE_SYNC = register(
    JobKind(
        name="catalog.source_sync",
        label="template source sync",
        task="catalog.tasks.sync_template_source",
        model=TemplateSource,
        on_lost=_sync_lost,
        schedule=queue_due_syncs,
    )
)


def push_received(payload: dict[str, Any]) -> int:
    """GitHub push webhook listener: a pushed tag matching a source's pattern, or a push to
    a branch channel, queues a sync of that repository's sources."""
    repo = payload.get("repository")
    if not isinstance(repo, dict):
        return 0
    urls = {
        gitrepo.repo_key(str(repo[key]))
        for key in ("clone_url", "ssh_url", "git_url", "html_url", "url", "svn_url")
        if isinstance(repo.get(key), str) and repo.get(key)
    }
    ref = str(payload.get("ref", ""))
    queued = 0
    for source in TemplateSource.objects.filter(enabled=True):
        if gitrepo.repo_key(source.url) not in urls:
            continue
        if source.ref_type == SourceRefType.BRANCH:
            wanted = ref == f"refs/heads/{source.ref_pattern}"
        else:
            wanted = ref.startswith("refs/tags/") and _tag_matches(
                ref.removeprefix("refs/tags/"), source.ref_pattern
            )
        if wanted:
            request_sync(source)
            queued += 1
    return queued


def _tag_matches(tag: str, pattern: str) -> bool:
    from fnmatch import fnmatchcase

    return fnmatchcase(tag, pattern)


def sign_body(body: bytes, secret: str) -> str:
    """The generic webhook's signature header value: `sha256=` + HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sources_for_signature(body: bytes, header: str) -> list[TemplateSource]:
    """The enabled sources whose own webhook secret signed `body` (the generic webhook).
    Checked before anything of the body is read."""
    if not header.startswith("sha256="):
        return []
    return [
        source
        for source in TemplateSource.objects.filter(enabled=True).exclude(webhook_secret="")
        if hmac.compare_digest(sign_body(body, source.webhook_secret), header)
    ]


def generic_push(sources: list[TemplateSource], payload: dict[str, Any]) -> list[int]:
    """Queue a sync of each signed-for source whose URL the payload names (or every one when
    it names none): `{"url": "...", "ref": "refs/tags/v1.2.0"}`."""
    url = payload.get("url") or payload.get("repository") or ""
    queued = []
    for source in sources:
        if isinstance(url, str) and url and gitrepo.repo_key(url) != gitrepo.repo_key(source.url):
            continue
        request_sync(source)
        queued.append(source.pk)
    return queued


# --- Syncing ----------------------------------------------------------------------------------


def sync_source(source: TemplateSource, *, workdir: Path | None = None) -> SyncResult:
    """Fetch the source and make a version of every new matching tag (or branch commit).
    Never raises for the source's own faults: they are stored in `last_sync_result`.
    `workdir`: the job's temporary folder (the reaper removes it if the worker dies)."""
    started = time.perf_counter()
    result = SyncResult(known_broken=_known_broken(source.last_sync_result))
    work = Path(tempfile.mkdtemp(prefix="idp-source-", dir=workdir))
    os.chmod(work, 0o700)
    try:
        (work / "home").mkdir()
        env = gitrepo.clean_env(work / "home")
        repo = work / "repo.git"
        _clone(source, repo, env)
        refs = _list_refs(source, repo, env)
        result.refs = len(refs)
        for ref in _in_version_order(refs):
            before = {**result.failed, **result.refused}
            try:
                _sync_ref(source, repo, env, work, ref, result)
            except Exception as exc:  # noqa: BLE001 - one tag must not stop the others
                log.exception("template source %s: tag %s failed", source.pk, ref.name)
                result.failed[ref.name] = f"unexpected {type(exc).__name__}"
                continue  # an unexpected error may pass: the tag is tried again next time
            found = {
                label: reason
                for label, reason in {**result.failed, **result.refused}.items()
                if label not in before
            }
            if found:
                result.broken_refs[ref.name] = {
                    "commit": ref.commit,
                    "reason": "; ".join(f"{label}: {why}" for label, why in found.items()),
                }
        for template in Template.objects.filter(source=source):
            refresh_template(template)
    except SourceError as exc:
        result.ok = False
        result.error = redact_credentials(str(exc))
        result.broken_refs = dict(result.known_broken)  # nothing was read: kept for the next
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    TemplateSource.objects.filter(pk=source.pk).update(
        last_sync_at=timezone.now(), last_sync_result=result.as_json()
    )
    source.refresh_from_db(fields=["last_sync_at", "last_sync_result"])
    audit.record(
        AuditAction.SOURCE_SYNCED,
        details={
            "source": source.pk,
            "ok": source.last_sync_result["ok"],
            "created": result.created,
            "error": result.error,
        },
    )
    return result


def _git(args: list[str], repo: Path, env: dict[str, str], **kwargs: Any) -> str:
    """git in the bare clone (its folder is the git directory)."""
    return gitrepo.run_git(args, cwd=repo, env=env, **kwargs)


def _clone(source: TemplateSource, into: Path, env: dict[str, str]) -> None:
    local = gitrepo.is_local(source.url)
    url = source.url
    if local and not url.startswith(gitrepo.FILE_URL):
        url = str(Path(url).expanduser().resolve())
    # Local paths and file:// were allowed by a platform admin (register_source).
    config = () if local else ("protocol.file.allow=never",)
    try:
        gitrepo.run_git(
            ["clone", "--bare", "--quiet", "--", url, str(into)],
            cwd=None,
            env=env,
            config=config,
        )
    except gitrepo.GitError as exc:
        raise SourceError(str(exc)) from exc


def _list_refs(source: TemplateSource, repo: Path, env: dict[str, str]) -> list[_Ref]:
    fmt = "%(refname:strip=2)%00%(objectname)%00%(*objectname)%00%(objecttype)%00%(contents)%1e"
    if source.ref_type == SourceRefType.BRANCH:
        pattern = f"refs/heads/{source.ref_pattern}"
    else:
        pattern = f"refs/tags/{source.ref_pattern}"
    try:
        out = _git(["for-each-ref", f"--format={fmt}", pattern], repo, env)
    except gitrepo.GitError as exc:
        raise SourceError(str(exc)) from exc
    refs = []
    for record in out.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        name, obj, peeled, kind, message = (record.split("\0") + [""] * 5)[:5]
        is_tag = source.ref_type == SourceRefType.TAGS
        if source.ref_type == SourceRefType.BRANCH:
            if name != source.ref_pattern:
                continue
            name = f"{name}@{obj[:12]}"
        message = SIGNATURE_BLOCK.sub("", message).strip() if kind == "tag" else ""
        refs.append(_Ref(name=name, commit=peeled or obj, message=message, is_tag=is_tag))
    if len(refs) > MAX_REFS:
        raise SourceError(f"{len(refs)} refs match {source.ref_pattern!r}; at most {MAX_REFS}.")
    return refs


def parse_semver(label: str) -> semver.Version | None:
    """The tag as a semantic version (a leading `v` allowed), or None."""
    text = label[1:] if label[:1] in ("v", "V") else label
    try:
        return semver.Version.parse(text)
    except ValueError:
        return None


def sort_key(label: str, number: int) -> str:
    """Text that orders versions: semver ones by precedence, after any non-semver ones by
    number. (Pre-releases sort before their release; their own order is by text.)"""
    version = parse_semver(label)
    if version is None:
        return f"0:{number:09d}"
    stable = "~" if version.prerelease is None else f"-{version.prerelease}"
    return f"1:{version.major:09d}.{version.minor:09d}.{version.patch:09d}{stable}"


def _in_version_order(refs: list[_Ref]) -> list[_Ref]:
    """Semver tags by precedence (so changelogs compare with the previous release), then
    others by name."""

    def key(ref: _Ref) -> tuple[int, Any, str]:
        version = parse_semver(ref.name)
        return (1, version, ref.name) if version else (0, None, ref.name)

    semvers = sorted((r for r in refs if parse_semver(r.name)), key=lambda r: key(r)[1])
    others = sorted((r for r in refs if not parse_semver(r.name)), key=lambda r: r.name)
    return others + semvers


def _slug_for(source: TemplateSource, path: str, files: dict[str, str]) -> str:
    if path:
        return path.rsplit("/", 1)[-1]
    import yaml

    try:
        meta = yaml.safe_load(files.get("template.yaml", "")) or {}
    except yaml.YAMLError:
        meta = {}
    slug = meta.get("slug") if isinstance(meta, dict) else None
    if isinstance(slug, str) and slug:
        return slug
    return gitrepo.repo_key(source.url).rsplit("/", 1)[-1]


def _sync_ref(
    source: TemplateSource,
    repo: Path,
    env: dict[str, str],
    work: Path,
    ref: _Ref,
    result: SyncResult,
) -> None:
    paths = source.paths or [""]
    known = dict(
        TemplateVersion.objects.filter(source=source, label=ref.name).values_list(
            "source_path", "source_commit"
        )
    )
    if all(p in known for p in paths):
        result.unchanged += len(paths)
        if any(known[p] != ref.commit for p in paths):
            # A version is immutable: a tag moved after it was read is reported, not re-read.
            result.moved.append(ref.name)
        return
    earlier = result.known_broken.get(ref.name)
    if earlier is not None and earlier["commit"] == ref.commit:
        # Failed at this very commit before: the same files fail the same way.
        result.skipped[ref.name] = earlier["reason"]
        result.broken_refs[ref.name] = earlier
        return
    verified = False
    if source.signing_key:
        refusal = _verify(source, repo, env, work, ref)
        if refusal:
            result.refused[ref.name] = refusal
            return
        verified = True
    out = work / "checkout"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    # A fresh index per ref: files of an earlier tag must not leak into this one's checkout.
    (repo / "index").unlink(missing_ok=True)
    try:
        _git(
            ["--work-tree", str(out), "checkout", "--quiet", "--force", ref.commit, "--", "."],
            repo,
            env,
        )
    except gitrepo.GitError as exc:
        result.failed[ref.name] = str(exc)
        return
    changelog_md = _read_inside(out, out / "CHANGELOG.md")
    for path in paths:
        if path in known:
            result.unchanged += 1
            continue
        folder = out / path if path else out
        label = f"{path or '.'}@{ref.name}"
        if not _inside(out, folder) or not folder.is_dir():
            result.failed[label] = f"{path}: no such folder at {ref.name}"
            continue
        try:
            files = read_files(folder)
            slug = _slug_for(source, path, files)
            if not valid_slug(slug):
                raise TemplateError(
                    path or ".", None, f"template name {slug!r} must match [a-z0-9-]+"
                )
            parsed = parse_template(slug, files)
            local_log = files.get("CHANGELOG.md") or changelog_md
            version = store_source_version(
                source, parsed, ref, path=path, verified=verified, changelog_md=local_log
            )
        except TemplateError as exc:
            result.failed[label] = str(exc)
            continue
        except ServiceError as exc:
            result.failed[label] = exc.message
            continue
        result.created.append(str(version))


def _inside(root: Path, path: Path) -> bool:
    """`path` is under `root` with no symlink on the way (a repository's symlink must not
    lead the loader onto the worker's own disk)."""
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            return False
    return True


def _read_inside(root: Path, path: Path, limit: int = 256 * 1024) -> str:
    """A text file of the checkout ('' when missing, a symlink or too large)."""
    if not _inside(root, path) or not path.is_file() or path.stat().st_size > limit:
        return ""
    return path.read_text("utf-8", "replace")


def _verify(source: TemplateSource, repo: Path, env: dict[str, str], work: Path, ref: _Ref) -> str:
    """'' when the tag's signature is good for the source's key, else why not."""
    if not ref.is_tag:
        return ""  # a branch channel's commits are not tags; the key is checked on tags only
    env = dict(env)
    config: tuple[str, ...] = ()
    kind = key_kind(source.signing_key)
    try:
        if kind == "gpg":
            home = work / "gnupg"
            if not home.exists():
                home.mkdir(mode=0o700)
                (work / "key.asc").write_text(source.signing_key)
                gitrepo.run_tool(
                    ["gpg", "--batch", "--homedir", str(home), "--import", str(work / "key.asc")],
                    env=env,
                )
            env["GNUPGHOME"] = str(home)
        else:
            signers = work / "allowed_signers"
            signers.write_text(source.signing_key.strip() + "\n")
            config = (f"gpg.ssh.allowedSignersFile={signers}",)
    except gitrepo.GitError as exc:
        return f"the signing key could not be loaded: {exc}"
    try:
        _git(["verify-tag", "--", f"refs/tags/{ref.name}"], repo, env, config=config)
    except gitrepo.GitError as exc:
        reason = str(exc).removeprefix("git verify-tag failed: ")
        return f"signature not verified: {reason[-300:]}"
    return ""


def changelog_section(text: str, label: str) -> str:
    """The part of a CHANGELOG.md under the heading that names this version (`## v1.1.0`,
    `## [1.1.0] - 2026-01-01`), up to the next heading of the same or a higher level."""
    version = parse_semver(label)
    names = {label, label.lstrip("vV")} | ({str(version)} if version else set())
    lines = text.splitlines()
    start, level = None, 0
    for index, line in enumerate(lines):
        match = re.match(r"^(#{1,6})\s+\[?([^\]\s]+)\]?", line)
        if not match:
            continue
        if start is None and match[2] in names:
            start, level = index + 1, len(match[1])
        elif start is not None and len(match[1]) <= level:
            return "\n".join(lines[start:index]).strip()
    return "\n".join(lines[start:]).strip() if start is not None else ""


@transaction.atomic
def store_source_version(
    source: TemplateSource,
    parsed: ParsedTemplate,
    ref: _Ref,
    *,
    path: str,
    verified: bool,
    changelog_md: str = "",
) -> TemplateVersion:
    """Make the TemplateVersion of one tag of one template of the source (audited)."""
    template, created = Template.objects.select_for_update().get_or_create(
        slug=parsed.slug, defaults={"title": parsed.title[:200], "source": source}
    )
    if template.source_id != source.pk:
        if template.source_id is not None or template.versions.exists():
            where = "another template source" if template.source_id else "a local folder"
            raise ServiceError(f"template {parsed.slug!r} already comes from {where}")
        template.source = source
        template.save(update_fields=["source", "updated_at"])
    existing = template.versions.filter(label=ref.name).first()
    if existing is not None:
        return existing
    previous = (
        template.versions.exclude(sort_key__gt=sort_key(ref.name, 0))
        .order_by("-sort_key", "-number")
        .first()
    )
    number = (
        template.versions.order_by("-number").values_list("number", flat=True).first() or 0
    ) + 1
    version = parse_semver(ref.name)
    notes = [
        ref.message,
        changelog_section(changelog_md, ref.name),
        describe_changes(previous, parsed),
    ]
    upgrade = parsed.metadata.get("upgrade") or {}
    safe_from = upgrade.get("safe_from") if isinstance(upgrade, dict) else None
    if isinstance(safe_from, str):
        safe_from = [safe_from]
    created_version = TemplateVersion.objects.create(
        template=template,
        number=number,
        **parsed.version_fields(),
        changelog="\n\n".join(n.strip() for n in notes if n and n.strip()),
        label=ref.name,
        semver=str(version) if version else "",
        sort_key=sort_key(ref.name, number),
        source=source,
        source_commit=ref.commit,
        source_path=path,
        signature_verified=verified,
        declared_safe_from=[str(s) for s in safe_from or [] if isinstance(s, str)],
    )
    audit.record(
        AuditAction.TEMPLATE_VERSION_CREATED,
        target=template,
        details={
            "version": number,
            "label": ref.name,
            "commit": ref.commit,
            "source": source.pk,
            "signature_verified": verified,
        },
    )
    return created_version


# --- Version semantics -------------------------------------------------------------------------


def latest_version(template: Template) -> TemplateVersion | None:
    """The version new requests get: the highest stable (no pre-release) semver version that
    is not withdrawn, else the highest-numbered one that is not withdrawn."""
    candidates = list(template.versions.exclude(status=VersionStatus.WITHDRAWN))
    if not candidates:
        return None

    def key(v: TemplateVersion) -> tuple[int, int, Any, int]:
        parsed = parse_semver(v.label) if v.label else None
        if parsed is None:
            return (0, 0, None, v.number)
        return (1, int(parsed.prerelease is None), parsed, v.number)

    semvers = [v for v in candidates if key(v)[0] == 1]
    if semvers:
        return max(semvers, key=lambda v: (key(v)[1], key(v)[2], v.number))
    return max(candidates, key=lambda v: v.number)


def refresh_template(template: Template) -> Template:
    """Point the template at its latest version and take its title/description from it."""
    latest = latest_version(template)
    changed: dict[str, Any] = {"current_version": latest}
    if latest is not None:
        meta = latest.metadata
        changed["title"] = str(meta.get("title") or template.title or template.slug)[:200]
        changed["description"] = str(meta.get("description", "")).strip()
        changed["category"] = str(meta.get("category", ""))[:50]
        changed["owner_team"] = Team.objects.filter(slug=str(meta.get("owner", ""))).first()
        changed["sync_error"] = ""
    changed = {k: v for k, v in changed.items() if getattr(template, k) != v}
    if changed:
        for key, value in changed.items():
            setattr(template, key, value)
        template.save(update_fields=[*changed, "updated_at"])
    return template


@transaction.atomic
def set_version_status(
    version: TemplateVersion, status: str, *, actor: Person | None = None, reason: str = ""
) -> TemplateVersion:
    """Deprecate (new requests warned), withdraw (new requests refused, existing resources
    flagged) or reactivate a version; audited. The template's current version follows."""
    if actor is not None and not is_platform_admin(actor):
        raise Forbidden("Only platform admins deprecate or withdraw template versions.")
    if status not in VersionStatus.values:
        raise ServiceError(
            f"status must be one of {', '.join(VersionStatus.values)}.", field="status"
        )
    version = TemplateVersion.objects.select_for_update().get(pk=version.pk)
    if version.status == status:
        return version
    version.status, version.status_reason = status, reason.strip()[:2000]
    version.status_changed_at = timezone.now()
    version.save(update_fields=["status", "status_reason", "status_changed_at"])
    action = {
        VersionStatus.ACTIVE: AuditAction.VERSION_REACTIVATED,
        VersionStatus.DEPRECATED: AuditAction.VERSION_DEPRECATED,
        VersionStatus.WITHDRAWN: AuditAction.VERSION_WITHDRAWN,
    }[VersionStatus(status)]
    audit.record(
        action,
        actor=actor,
        target=version.template,
        details={
            "version": version.number,
            "label": version.display,
            "reason": version.status_reason,
            "resources": withdrawn_resources(version).count() if version.is_withdrawn else 0,
        },
    )
    refresh_template(Template.objects.get(pk=version.template_id))
    return version


def version_refusal(version: TemplateVersion) -> str:
    """Why a new request may not use this version ('' when it may)."""
    if version.is_withdrawn:
        why = f": {version.status_reason}" if version.status_reason else ""
        return f"Version {version.display} of {version.template.slug} is withdrawn{why}"
    return ""


def version_warning(version: TemplateVersion) -> str:
    """What a request on a deprecated version is warned of ('' when nothing)."""
    if version.is_deprecated:
        why = f": {version.status_reason}" if version.status_reason else ""
        return f"Version {version.display} of {version.template.slug} is deprecated{why}"
    return ""


# Resources are provisioning's, a layer above the registry: it registers the query of the
# live ones (not gone) when it starts, so the registry can tell which pin a withdrawn version.
_live_resources: list[Callable[[], QuerySet[Any]]] = []


def on_live_resources(query: Callable[[], QuerySet[Any]]) -> None:
    """Register the query of live resources (provisioning's `ready()`); the last one counts."""
    _live_resources[:] = [query]


def withdrawn_resources(version: TemplateVersion | None = None) -> QuerySet[Any]:
    """Live resources pinned to a withdrawn version (of `version`, or of any): the flag."""
    if not _live_resources:
        raise RuntimeError("no query of live resources registered (provisioning's ready())")
    resources = _live_resources[0]()
    if version is not None:
        return resources.filter(template_version=version)
    return resources.filter(template_version__status=VersionStatus.WITHDRAWN)


def declared_safe(old: TemplateVersion, new: TemplateVersion) -> bool:
    """Whether `new`'s template.yaml (`upgrade.safe_from`) calls an upgrade from `old` safe:
    a list of comma-joined comparisons (`>=1.0.0,<1.1.0`). A claim only."""
    old_semver = parse_semver(old.label) if old.label else None
    if old_semver is None:
        return False
    for expression in new.declared_safe_from:
        parts = [p.strip() for p in expression.split(",") if p.strip()]
        try:
            if parts and all(old_semver.match(p.replace("v", "")) for p in parts):
                return True
        except ValueError:
            continue
    return False


def parameter_changes(old: TemplateVersion, new: TemplateVersion) -> list[str]:
    """Parameter changes an upgrade brings that may need the requester's input: removed
    parameters, changed types, new parameters without a default."""
    old_props = old.parameters_schema.get("properties", {})
    new_props = new.parameters_schema.get("properties", {})
    required = set(new.parameters_schema.get("required", []))
    notes = [f"parameter {k} removed" for k in sorted(set(old_props) - set(new_props))]
    notes += [
        f"parameter {k} changed type"
        for k in sorted(set(old_props) & set(new_props))
        if old_props[k].get("type") != new_props[k].get("type")
    ]
    notes += [
        f"new required parameter {k}" for k in sorted((set(new_props) - set(old_props)) & required)
    ]
    return notes


def upgrade_safety(
    old: TemplateVersion, new: TemplateVersion, plan_summary: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What the author declares about upgrading `old` → `new`, and what is measured: the
    parameter schemas and, given the plan of the upgrade, its replacements and destroys.
    `safe` is the measurement's (None until a plan is given); the label never decides."""
    reasons = parameter_changes(old, new)
    measured: bool | None = None
    if plan_summary is not None:
        replaced = [
            r.get("address", "")
            for r in plan_summary.get("resources", []) or []
            if r.get("action") in ("replace", "delete", "create-delete", "delete-create")
        ]
        reasons += [f"{address} would be replaced or destroyed" for address in replaced]
        if not replaced and plan_summary.get("destroy"):
            reasons.append(f"{plan_summary['destroy']} resource(s) destroyed")
        measured = not reasons
    return {
        "declared_safe": declared_safe(old, new),
        "safe": measured,
        "reasons": reasons,
    }


__all__ = [
    "SyncResult",
    "check_registration",
    "changelog_section",
    "declared_safe",
    "generic_push",
    "latest_version",
    "parameter_changes",
    "parse_semver",
    "push_received",
    "queue_due_syncs",
    "refresh_template",
    "register_source",
    "request_sync",
    "rotate_webhook_secret",
    "new_webhook_secret",
    "sync_now",
    "run_queued",
    "set_version_status",
    "sign_body",
    "sort_key",
    "sources_for_signature",
    "sync_source",
    "upgrade_safety",
    "validate_source",
    "version_refusal",
    "version_warning",
    "on_live_resources",
    "withdrawn_resources",
]
