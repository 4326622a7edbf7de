"""Discovery: entities found in `catalog-info.yaml` files at registered locations.

A Location is a Git repository (URL, or a local path for platform admins) or a GitHub
organisation. `scan_location` reads every `catalog-info.yaml` it holds (Git: a shallow clone
with the real `git` into a private temporary folder, root and sub-folders up to depth 3;
GitHub: each repository's file on its default branch through PyGithub, no clone) and imports
each file on its own through the importer (origin `location`), so one bad file never stops
the others. Entities of the location that are no longer found are flagged `orphaned` (kept),
and un-flagged when they come back. The outcome is stored on the location (`last_scan_at`,
`last_result`). A requested scan is the location row's job (idp/jobs, kind
`LOCATION_SCAN`: queued, nudged on commit, claimed with a heartbeat, taken back by the
reaper when its worker dies). The schedule (`catalog.scan_locations`), the API and GitHub
push webhooks (`push_received`) ask for scans; `register_location` owns who may register
what.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from catalog.choices import EntityOrigin, LocationType
from catalog.models import Entity, Location
from catalog.sensitivity import redact_credentials
from catalog.services import gitrepo
from idp import audit
from idp.jobs import dispatch as jobs
from idp.jobs.models import JobStatus
from idp.jobs.registry import JobKind, register
from idp.models import Team
from idp.rbac import has_team_perm, is_platform_admin
from idp.services import Forbidden, ServiceError

from .entities.importer import import_entities

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog-info.yaml"
MAX_DEPTH = 3  # folders below the root searched for catalog-info.yaml (Backstage-style)
MAX_FILES = 200
MAX_FILE_BYTES = 1_000_000
AUDIT_LOCATION_REGISTERED = "catalog.location_registered"
SKIP_DIRS = {".git", "node_modules", ".venv", "venv"}


# --- Results -------------------------------------------------------------------------------


@dataclass
class FileResult:
    """What one catalog-info.yaml gave."""

    path: str
    source_url: str
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "source_url": self.source_url,
            "created": self.created,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "errors": self.errors,
        }


@dataclass
class ScanResult:
    """The outcome of one scan (stored as the location's `last_result`)."""

    location_id: int
    ok: bool = True
    error: str = ""
    commit: str = ""
    files: list[FileResult] = field(default_factory=list)
    orphaned: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)

    def _all(self, name: str) -> list[str]:
        return [ref for f in self.files for ref in getattr(f, name)]

    @property
    def created(self) -> list[str]:
        return self._all("created")

    @property
    def changed(self) -> list[str]:
        return self._all("changed")

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok and all(f.ok for f in self.files),
            "error": self.error,
            "commit": self.commit,
            "counts": {
                "files": len(self.files),
                "created": len(self.created),
                "changed": len(self.changed),
                "unchanged": len(self._all("unchanged")),
                "orphaned": len(self.orphaned),
                "restored": len(self.restored),
                "errors": sum(len(f.errors) for f in self.files) + (1 if self.error else 0),
            },
            "files": [f.as_json() for f in self.files],
            "orphaned": self.orphaned[:200],
            "restored": self.restored[:200],
        }


class ScanError(Exception):
    """The location as a whole could not be read (clone failed, GitHub refused…)."""


# --- Who sees and registers locations -------------------------------------------------------


def visible_locations(user: Any) -> Any:
    """Locations `user` may see: their teams' (members), every one for platform admins.
    Platform admins' own locations (no team) are theirs only."""
    if is_platform_admin(user):
        return Location.objects.all()
    return Location.objects.for_user(user, "view_team").filter(team__isnull=False)


def can_scan(user: Any, location: Location) -> bool:
    """Maintainers of the location's team and platform admins start scans."""
    if is_platform_admin(user):
        return True
    return location.team is not None and has_team_perm(user, location.team, "maintain_team")


@transaction.atomic
def register_location(
    actor: Any, type: str, target: str, ref: str = "", team: Team | None = None
) -> Location:
    """Register a location (maintainers for their team; platform admins for any team or
    none; local paths and file:// only for platform admins). Raises ServiceError (400),
    Forbidden (403) or Conflict (409)."""
    from idp.services import Conflict

    admin = actor is None or is_platform_admin(actor)
    if type not in LocationType.values:
        raise ServiceError(f"type must be one of {', '.join(LocationType.values)}.", field="type")
    if team is None and not admin:
        raise Forbidden("Only platform admins register locations no team owns; name a team.")
    if team is not None and not admin and not has_team_perm(actor, team, "maintain_team"):
        raise Forbidden(f"Only maintainers of team {team.slug} register its locations.")
    target, error = gitrepo.validate_target(type, target, admin=admin)
    if error:
        raise ServiceError(error, field="target")
    ref = ref.strip()
    if ref and (ref.startswith("-") or not re.match(r"^[\w./-]{1,200}$", ref)):
        raise ServiceError("A branch or tag name.", field="ref")
    if Location.objects.filter(type=type, target=target, ref=ref).exists():
        raise Conflict("This location is already registered.")
    location = Location.objects.create(type=type, target=target, ref=ref, team=team)
    audit.record(
        AUDIT_LOCATION_REGISTERED,
        actor=actor,
        team=team,
        # Not `target=location`: its text would carry a URL's credentials into the log.
        details={
            "location": location.pk,
            "type": type,
            "target": redact_credentials(target),
            "ref": ref,
        },
    )
    return location


# --- Scanning --------------------------------------------------------------------------------


def scan_location(location: Location, *, workdir: Path | None = None) -> ScanResult:
    """Scan one location now and store the outcome; never raises for the location's own
    faults (they are recorded in `last_result`). `workdir`: the job's temporary folder."""
    result = ScanResult(location_id=location.pk)
    try:
        if location.type == LocationType.GITHUB_ORG:
            files = _github_files(location, result)
        else:
            files = _git_files(location, result, workdir)
        _import_files(location, files, result)
    except ScanError as exc:
        result.ok = False
        result.error = redact_credentials(str(exc))
    Location.objects.filter(pk=location.pk).update(
        last_scan_at=timezone.now(), last_result=result.as_json()
    )
    location.refresh_from_db(fields=["last_scan_at", "last_result"])
    return result


def scan_all(*, only_enabled: bool = True) -> dict[int, bool]:
    """Scan every (enabled) location; one location's failure never stops the others.
    Returns location id → whether its scan was clean."""
    outcome: dict[int, bool] = {}
    locations = Location.objects.select_related("team").order_by("pk")
    if only_enabled:
        locations = locations.filter(enabled=True)
    for location in locations:
        try:
            outcome[location.pk] = bool(scan_location(location).as_json()["ok"])
        except Exception:  # noqa: BLE001 - one location must not stop the others
            log.exception("scan of location %s failed", location.pk)
            outcome[location.pk] = False
    return outcome


@dataclass
class _File:
    path: str
    source_url: str
    content: str = ""
    error: str = ""


def _git_files(location: Location, result: ScanResult, workdir: Path | None) -> list[_File]:
    """Every catalog-info.yaml of a shallow clone at the location's ref."""
    # Local paths and file:// are registered by platform admins only (register_location).
    local = gitrepo.is_local(location.target)
    work = Path(tempfile.mkdtemp(prefix="idp-discovery-", dir=workdir))
    os.chmod(work, 0o700)
    try:
        (work / "home").mkdir()
        env = gitrepo.clean_env(work / "home")
        checkout = work / "checkout"
        try:
            result.commit = gitrepo.shallow_clone(
                location.target, checkout, env, ref=location.ref, local=local
            )
        except gitrepo.GitError as exc:
            raise ScanError(str(exc)) from exc
        shown = redact_credentials(location.target)
        files = []
        for path in _find_catalog_files(checkout):
            rel = path.relative_to(checkout).as_posix()
            item = _File(rel, f"{shown}@{result.commit}:{rel}")
            try:
                if path.stat().st_size > MAX_FILE_BYTES:
                    item.error = f"larger than {MAX_FILE_BYTES} bytes"
                else:
                    item.content = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                item.error = f"cannot be read: {exc.__class__.__name__}"
            files.append(item)
        return files
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _find_catalog_files(root: Path) -> list[Path]:
    """catalog-info.yaml at the root and in folders up to MAX_DEPTH below it (no symlinks,
    no .git), root first then by path."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not (Path(dirpath) / d).is_symlink()
        )
        if depth >= MAX_DEPTH:
            dirnames[:] = []
        path = Path(dirpath) / CATALOG_FILE
        if CATALOG_FILE in filenames and path.is_file() and not path.is_symlink():
            found.append(path)
    found.sort(key=lambda p: (len(p.relative_to(root).parts), p.as_posix()))
    return found[:MAX_FILES]


def _github_files(location: Location, result: ScanResult) -> list[_File]:
    """catalog-info.yaml of each repository of the organisation, on its default branch (or
    the location's ref), read through the API."""
    from github import GithubException
    from requests.exceptions import RequestException

    from idp.github_client import GitHubError, client, translate

    org = location.target
    try:
        repos = list(client().get_organization(org).get_repos())
    except (GithubException, RequestException, GitHubError) as exc:
        error = translate(exc, repository=org, action="listing the organisation's repositories")
        raise ScanError(error.message) from exc
    files = []
    for repo in sorted(repos, key=lambda r: r.full_name.lower()):
        if getattr(repo, "archived", False):
            continue
        branch = location.ref or repo.default_branch
        source_url = f"{repo.html_url}/blob/{branch}/{CATALOG_FILE}"
        item = _File(f"{repo.full_name}/{CATALOG_FILE}", source_url)
        try:
            found = repo.get_contents(CATALOG_FILE, ref=branch)
        except GithubException as exc:
            if exc.status == 404:
                continue  # no catalog-info.yaml: not a catalog repository
            item.error = translate(exc, repository=repo.full_name, action="reading").message
        except RequestException as exc:
            item.error = translate(exc, repository=repo.full_name, action="reading").message
        else:
            if isinstance(found, list) or found.size > MAX_FILE_BYTES:
                item.error = f"not a file of at most {MAX_FILE_BYTES} bytes"
            else:
                try:
                    item.content = found.decoded_content.decode("utf-8")
                except UnicodeDecodeError:
                    item.error = "not UTF-8 text"
        files.append(item)
    return files


def _import_files(location: Location, files: list[_File], result: ScanResult) -> None:
    found: set[str] = set()
    failed_sources: list[str] = []
    for item in files:
        file_result = FileResult(item.path, item.source_url)
        result.files.append(file_result)
        if item.error:
            file_result.errors.append(item.error)
            failed_sources.append(item.path)
            continue
        # The importer refuses what a team's location may not write (`only_team`).
        try:
            report = import_entities(
                item.content,
                actor=None,
                origin=EntityOrigin.LOCATION,
                location=location,
                source_url=item.source_url,
                only_team=location.team,
            )
        except ServiceError as exc:  # a concurrent import: the next scan retries
            file_result.errors.append(exc.message)
        else:
            file_result.created = report.created
            file_result.changed = report.changed
            file_result.unchanged = report.unchanged
            file_result.errors = [str(e) for e in [*report.errors, *report.refused]]
            if report.written:
                found.update(report.created + report.changed + report.unchanged)
        if file_result.errors:
            failed_sources.append(item.path)
    _flag_orphans(location, found, failed_sources, result)


def _file_of(source_url: str) -> str:
    """The file part of a source URL written by a scan (Git: `url@commit:file`, GitHub:
    `…/blob/branch/file` → owner/repo/file)."""
    if "/blob/" in source_url:
        parts = urlsplit(source_url).path.strip("/").split("/")
        return "/".join([*parts[:2], *parts[4:]])
    return source_url.rsplit(":", 1)[-1]


def _flag_orphans(
    location: Location, found: set[str], failed: list[str], result: ScanResult
) -> None:
    """Entities of the location not found any more: orphaned (kept); found again: restored.
    Entities of a file that failed to read stay as they are (not known to be gone)."""
    mine = Entity.objects.filter(location=location).only(
        "pk", "kind", "namespace", "name", "orphaned", "source_url"
    )
    orphan, restore = [], []
    for entity in mine:
        ref = entity.ref
        if ref in found:
            if entity.orphaned:
                restore.append(entity.pk)
                result.restored.append(ref)
        elif not entity.orphaned and _file_of(entity.source_url) not in failed:
            orphan.append(entity.pk)
            result.orphaned.append(ref)
    if orphan:
        Entity.objects.filter(pk__in=orphan).update(orphaned=True)
    if restore:
        Entity.objects.filter(pk__in=restore).update(orphaned=False)


# --- Requests for scans: the schedule, the API and push webhooks ---------------------------


def request_scan(location: Location) -> str:
    """Queue a scan of the location (a worker is nudged on commit); while one runs, the
    request is recorded and a scan follows it."""
    return jobs.request(LOCATION_SCAN, location)


def request_scans() -> int:
    """The schedule: queue a scan of every enabled location. Returns how many."""
    locations = list(Location.objects.filter(enabled=True).order_by("pk"))
    for location in locations:
        request_scan(location)
    return len(locations)


def run_queued(location_id: int) -> ScanResult | None:
    """The worker's entry: claim the location's queued scan and run it; None when nothing
    was queued (a duplicate message) or the location is disabled."""
    done = jobs.execute(LOCATION_SCAN, location_id, _scan_job)
    return None if done is None else done.result


def _scan_job(location: Location, workdir: Path) -> jobs.Done:
    if not location.enabled:
        return jobs.Done(JobStatus.CANCELLED, "The location is disabled.")
    result = scan_location(location, workdir=workdir)
    ok = bool(result.as_json()["ok"])
    return jobs.Done(JobStatus.SUCCEEDED if ok else JobStatus.FAILED, result.error, result)


def _scan_lost(location_id: int, requeued: bool, reason: str) -> None:
    """A scan whose worker died and is not tried again: its reason is the last result."""
    if not requeued:
        result = ScanResult(location_id=location_id, ok=False, error=reason)
        Location.objects.filter(pk=location_id).update(
            last_scan_at=timezone.now(), last_result=result.as_json()
        )


LOCATION_SCAN = register(
    JobKind(
        name="catalog.location_scan",
        label="catalog scan",
        task="catalog.software.tasks.scan_location",
        model=Location,
        on_lost=_scan_lost,
    )
)


def locations_for_push(payload: dict[str, Any]) -> list[Location]:
    """The enabled locations a GitHub `push` event touches: Git locations of that repository
    on the pushed branch (their ref, else the default branch), and GitHub organisation
    locations of the repository's owner (pushes to the default branch)."""
    repo = payload.get("repository")
    if not isinstance(repo, dict):
        return []
    pushed = str(payload.get("ref", ""))
    branch = pushed.removeprefix("refs/heads/") if pushed.startswith("refs/heads/") else ""
    default = str(repo.get("default_branch") or repo.get("master_branch") or "")
    urls = {
        gitrepo.repo_key(str(repo[key]))
        for key in ("clone_url", "ssh_url", "git_url", "html_url", "url", "svn_url")
        if isinstance(repo.get(key), str) and repo.get(key)
    }
    owner = repo.get("owner") or {}
    login = str(owner.get("login") or owner.get("name") or "").lower()
    touched = []
    for location in Location.objects.filter(enabled=True).select_related("team"):
        wanted = location.ref or default
        if location.type == LocationType.GIT:
            if gitrepo.repo_key(location.target) in urls and branch and branch == wanted:
                touched.append(location)
        elif location.target.lower() == login and branch and branch == wanted:
            touched.append(location)
    return touched


def push_received(payload: dict[str, Any]) -> int:
    """The GitHub push webhook's listener: queue a scan of each location it touches."""
    locations = locations_for_push(payload)
    for location in locations:
        request_scan(location)
    return len(locations)


__all__ = [
    "CATALOG_FILE",
    "FileResult",
    "ScanResult",
    "can_scan",
    "locations_for_push",
    "push_received",
    "register_location",
    "request_scan",
    "request_scans",
    "run_queued",
    "scan_all",
    "scan_location",
    "visible_locations",
]
