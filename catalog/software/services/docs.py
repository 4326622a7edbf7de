"""Docs like Backstage's TechDocs: a component's `mkdocs.yml` + `docs/` built with MkDocs and
`mkdocs-techdocs-core`, stored per commit, served under the entity and searchable.

A build is a DocsBuild row, a job (idp/jobs, kind `DOCS_BUILD`): `queued` → `running`
(building) → `succeeded` / `failed`. `request_build` records the row and nudges a worker on
commit (a request while one builds is recorded: a new build follows it); the jobs'
housekeeping re-sends lost nudges and takes back builds whose worker died (queued again,
their folder removed). `build_docs` does the work. The repository's content is untrusted code:
the clone URL must be https/ssh to a public host (`docs_remote`), the docs are copied without
a single symlink (`docs_sandbox.safe_copy`), `mkdocs.yml` passes an allow-list
(`docs_config`), and `mkdocs build` runs in the sandbox (`docs_sandbox.run`: an empty
environment, an unprivileged user, no network, a private root, CPU/memory/time/output limits,
as far as the OS allows, said in the log). Temporary directories are always removed.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from functools import partial
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from django.db.models import OuterRef, Subquery

from catalog.choices import DocsStatus, EntityKind, LocationType
from catalog.models import DocsBuild, Entity
from catalog.sensitivity import redact_credentials
from catalog.services import gitrepo
from idp.jobs import dispatch as jobs
from idp.jobs.registry import JobKind, register
from idp.rbac import has_team_perm, is_platform_admin

from . import docs_config, docs_remote, docs_sandbox
from .entities import access

log = logging.getLogger(__name__)

TECHDOCS_REF = docs_remote.TECHDOCS_REF
# Limits of one build: it must not hold a worker forever, fill its disk nor the database.
BUILD_TIMEOUT = 300  # seconds for `mkdocs build` (wall clock)
BUILD_LIMITS = docs_sandbox.Limits(wall_seconds=BUILD_TIMEOUT)
MAX_COPY_BYTES = 256 * 1024 * 1024  # the docs folder copied into the sandbox
GIT_TIMEOUT = gitrepo.GIT_TIMEOUT  # seconds for the clone
MAX_SITE_BYTES = 8 * 1024 * 1024  # the stored files of one build, after the filter below
MAX_LOG_CHARS = 20_000
# What is stored and served. Scripts are never served (the pages run without them, see
# catalog/software/views/docs.py), so JavaScript, source maps and the client-side search index are
# left out; our own search reads `search_text`.
TEXT_SUFFIXES = {".html", ".css", ".svg", ".txt"}
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".woff", ".woff2", ".ttf"}


class DocsError(Exception):
    """A build cannot go on; the message is shown to the owner team."""


@dataclass(frozen=True)
class DocsSource:
    """Where a component's docs come from: a clone URL or local path, a ref, a sub-folder."""

    url: str
    ref: str = ""
    subdir: str = "."
    local: bool = False


@dataclass(frozen=True)
class DocsHit:
    entity: Entity
    build: DocsBuild
    path: str
    title: str
    snippet: str


# --- Who may see what -------------------------------------------------------------------


def visible_entities(user: Any) -> Any:
    """Entities `user` may read: the catalog's one rule."""
    return access.visible_entities(user)


def can_see_build_log(user: Any, entity: Entity) -> bool:
    """Build logs and errors are the owner team's (its members) and platform admins'."""
    return is_platform_admin(user) or has_team_perm(user, entity.team, "view_team")


def can_request_build(user: Any, entity: Entity) -> bool:
    """Members of the owner team (who may work on its components) start builds."""
    return entity.kind == EntityKind.COMPONENT and (
        is_platform_admin(user) or has_team_perm(user, entity.team, "use_team")
    )


def latest_build(entity: Entity) -> DocsBuild | None:
    """The newest successful build of the entity, the one served."""
    return (
        DocsBuild.objects.filter(entity=entity, status=DocsStatus.SUCCEEDED)
        .order_by("-finished_at", "-pk")
        .first()
    )


def last_attempt(entity: Entity) -> DocsBuild | None:
    """The newest build of the entity in any state (what the owner sees as "last build")."""
    return DocsBuild.objects.filter(entity=entity).defer("files").order_by("-pk").first()


# --- Requesting a build (a job row + a nudge on commit) -----------------------------------


def request_build(entity: Entity, *, actor: Any = None) -> DocsBuild:
    """Queue a docs build of a component. The queued one is returned as is; a request while
    one builds is recorded on it and a new build follows (the repository may have moved)."""
    if actor is not None and not can_request_build(actor, entity):
        raise PermissionError("Only the owner team builds this component's docs.")
    if entity.kind != EntityKind.COMPONENT:
        raise DocsError("Only components have docs.")
    build, _ = jobs.request_new(
        DOCS_BUILD,
        DocsBuild.objects.filter(entity=entity).defer("files"),
        lambda **fields: DocsBuild.objects.create(entity=entity, **fields),
    )
    return build


def run_queued(build_id: int) -> DocsBuild | None:
    """The worker's entry: claim the queued build and run it; None when it is not queued
    (a duplicate message, or another worker has it)."""
    done = jobs.execute(DOCS_BUILD, build_id, _build_job)
    return None if done is None else _result(build_id, done)


def _build_job(
    build: DocsBuild, workdir: Path, *, checkout_dir: Path | str | None = None
) -> jobs.Done:
    built = _build(build.entity, build, workdir=workdir, checkout_dir=checkout_dir)
    if built.pk != build.pk:
        return jobs.Done(DocsStatus.CANCELLED, f"Commit {built.commit} is already built.", built)
    ok = built.status == DocsStatus.SUCCEEDED
    return jobs.Done(built.status, "" if ok else "The build failed; see its log.", built)


def _result(build_id: int, done: jobs.Done) -> DocsBuild:
    """The build a job ended with: its own row, or the earlier build of the same commit
    (then this row, which built nothing, is dropped)."""
    built: DocsBuild = done.result
    if built.pk != build_id:
        DocsBuild.objects.filter(pk=build_id, status=DocsStatus.CANCELLED).delete()
        return built
    built.refresh_from_db()
    return built


def _follow_up(build: DocsBuild) -> None:
    """A build was asked for while this one ran: queue the next one."""
    request_build(build.entity)


def _build_lost(build_id: int, requeued: bool, reason: str) -> None:
    DocsBuild.objects.filter(pk=build_id).update(log=reason)


DOCS_BUILD = register(
    JobKind(
        name="catalog.docs_build",
        label="docs build",
        task="catalog.software.tasks.build_docs",
        model=DocsBuild,
        again=_follow_up,
        on_lost=_build_lost,
    )
)


# --- Building ---------------------------------------------------------------------------


def docs_source(entity: Entity) -> DocsSource:
    """Where the entity's docs live: its `backstage.io/techdocs-ref` annotation (`url:<git
    URL>` or `dir:<folder>` relative to where the entity came from), else its service's
    repository. Local paths are only read from a registered Git location (registered by a
    maintainer or an admin), never from a URL a descriptor names."""
    ref = str((entity.annotations or {}).get(TECHDOCS_REF, "")).strip()
    if ref.startswith("url:"):
        return DocsSource(url=_remote_url(ref[4:].strip()))
    subdir = "."
    if ref.startswith("dir:"):
        subdir = ref[4:].strip() or "."
    elif ref:
        raise DocsError(f"{TECHDOCS_REF} must be 'dir:<folder>' or 'url:<git URL>', not {ref!r}.")
    location = entity.location
    if location is not None and location.type == LocationType.GIT:
        local = gitrepo.is_local(location.target)
        return DocsSource(url=location.target, ref=location.ref, subdir=subdir, local=local)
    service = entity.service
    if service is not None and service.repository_url:
        return DocsSource(url=_remote_url(service.repository_url), subdir=subdir)
    raise DocsError(
        "No repository: set the service's repository URL or a"
        f" {TECHDOCS_REF} annotation (url:<git URL>)."
    )


def _remote_url(url: str) -> str:
    """A URL a descriptor or a service names: https/ssh only (its host is checked when the
    build clones it, see docs_remote)."""
    try:
        docs_remote.parse(url)
    except docs_remote.RemoteError as exc:
        raise DocsError(f"{TECHDOCS_REF}: {exc}") from exc
    return url


def _clean_env(home: Path) -> dict[str, str]:
    """The environment of git: nothing of the platform's (no secrets, no database URL)."""
    return gitrepo.clean_env(home)


def _git(
    args: list[str], *, cwd: Path | None, env: dict[str, str], config: tuple[str, ...] = ()
) -> str:
    try:
        return gitrepo.run_git(args, cwd=cwd, env=env, config=config, timeout=GIT_TIMEOUT)
    except gitrepo.GitError as exc:
        raise DocsError(str(exc)) from exc


def checkout(source: DocsSource, into: Path, env: dict[str, str]) -> tuple[Path, str]:
    """Clone the source into `into` (shallow) and return (the docs folder, the commit).
    Remote URLs go through docs_remote (public hosts, pinned address, no redirects);
    local paths only come from Git locations a platform admin registered."""
    try:
        if source.local:
            commit = gitrepo.shallow_clone(source.url, into, env, ref=source.ref, local=True)
        else:
            commit = docs_remote.clone(source.url, into, env, ref=source.ref)
    except docs_remote.RemoteError as exc:
        raise DocsError(f"{TECHDOCS_REF}: {exc}") from exc
    except gitrepo.GitError as exc:
        raise DocsError(str(exc)) from exc
    return _inside(into, source.subdir, "the techdocs-ref folder"), commit


def _inside(root: Path, relative: str, what: str) -> Path:
    path = (root / relative).resolve()
    if path != root.resolve() and root.resolve() not in path.parents:
        raise DocsError(f"{what} {relative!r} is outside the repository.")
    return path


def prepare_copy(docs_root: Path, repo_root: Path, work: Path) -> tuple[Path, Path, Path]:
    """The sandbox's inputs: a symlink-free copy of the docs folder with the checked
    mkdocs.yml written into it, and an empty output folder. Returns (copy, config, site)."""
    copy, output = work / "copy", work / "build"
    try:
        docs_sandbox.safe_copy(docs_root, copy, within=repo_root, max_bytes=MAX_COPY_BYTES)
    except docs_sandbox.SandboxError as exc:
        raise DocsError(str(exc)) from exc
    output.mkdir(mode=0o755)
    site = output / "site"
    found = [copy / n for n in ("mkdocs.yml", "mkdocs.yaml") if (copy / n).is_file()]
    if not found:
        raise DocsError("No mkdocs.yml in the repository (TechDocs needs mkdocs.yml + docs/).")
    try:
        config = docs_config.checked(docs_config.load(found[0]), copy, site)
    except docs_config.ConfigError as exc:
        raise DocsError(str(exc)) from exc
    for path in found:
        path.unlink()
    target = copy / "mkdocs.yml"  # where the repository's was: monorepo includes stay relative
    target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    os.chmod(target, 0o644)
    return copy, target, site


def run_mkdocs(config_file: Path, copy: Path, site: Path) -> str:
    """`mkdocs build` in the sandbox (`python -I -m mkdocs`: nothing of the platform is
    imported); returns its output (the log), the sandbox's notes first."""
    command = [
        *docs_sandbox.python_command(),
        "-m",
        "mkdocs",
        "build",
        "--clean",
        "-f",
        str(config_file),
    ]
    done = docs_sandbox.run(
        command, readable=[copy], writable=[site.parent], cwd=copy, limits=BUILD_LIMITS
    )
    output = _tidy_log(done.output)
    if done.timed_out:
        raise DocsError(f"mkdocs build ran longer than {BUILD_TIMEOUT}s; stopped.\n{output}")
    if done.too_large:
        raise DocsError(f"mkdocs build wrote too much and was stopped.\n{output}")
    if done.returncode != 0:
        raise DocsError(f"mkdocs build failed (exit {done.returncode}):\n{output}")
    return output


def _tidy_log(text: str) -> str:
    # Colour codes and Material's banner box are noise in a stored log.
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("│")]
    return "\n".join(lines).strip()


def collect_site(site_dir: Path) -> dict[str, Any]:
    """The built files to store: text as text, images and fonts as {"base64": …}."""
    files: dict[str, Any] = {}
    total = 0
    for path in sorted(site_dir.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        suffix = path.suffix.lower()
        if suffix not in TEXT_SUFFIXES and suffix not in BINARY_SUFFIXES:
            continue
        data = path.read_bytes()
        total += len(data)
        if total > MAX_SITE_BYTES:
            raise DocsError(
                f"The built site is larger than {MAX_SITE_BYTES // (1024 * 1024)} MB;"
                " shrink its images."
            )
        rel = path.relative_to(site_dir).as_posix()
        if suffix in TEXT_SUFFIXES:
            files[rel] = data.decode("utf-8", errors="replace")
        else:
            files[rel] = {"base64": base64.b64encode(data).decode("ascii")}
    if "index.html" not in files:
        raise DocsError("The build made no index.html (add docs/index.md).")
    return files


class _PageText(HTMLParser):
    """The title and the article text of a built page (navigation and scripts left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.parts: list[str] = []
        self._in_title = False
        self._article = 0
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag == "article":
            self._article += 1
        elif tag in ("script", "style") or (tag == "a" and ("class", "headerlink") in attrs):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "article" and self._article:
            self._article -= 1
        elif tag in ("script", "style", "a") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._article and not self._skip:
            self.parts.append(data)


def page_text(html: str) -> tuple[str, str]:
    """(title, text) of one built page, whitespace collapsed."""
    parser = _PageText()
    parser.feed(html)
    parser.close()
    text = " ".join(" ".join(parser.parts).split())
    return " ".join(parser.title.split()), text


def search_text_of(files: dict[str, Any]) -> str:
    """One block per page: `path`, a tab, its title, a tab, its text; one page a line."""
    lines = []
    for path, content in sorted(files.items()):
        if path.endswith(".html") and path != "404.html" and isinstance(content, str):
            title, text = page_text(content)
            if text:
                lines.append(f"{path}\t{title}\t{text}")
    return "\n".join(lines)


def _finish(build: DocsBuild, status: str, *, log_text: str, **fields: Any) -> None:
    """What a build found (its log, commit and files); its status is the job's to write."""
    build.status = status
    DocsBuild.objects.filter(pk=build.pk).update(
        log=redact_credentials(log_text)[-MAX_LOG_CHARS:], **fields
    )


def build_docs(entity: Entity, *, checkout_dir: Path | str | None = None) -> DocsBuild:
    """Build the entity's docs now, in this process (`manage.py build_docs` and tests): a
    build row run as a job, like on a worker.

    `checkout_dir`: an existing checkout to build from instead of cloning. A commit already
    built successfully is skipped: the row is dropped and the existing build returned.
    Never raises for the repository's own faults: they end the build `failed` with the
    reason in its log.
    """
    if entity.kind != EntityKind.COMPONENT:
        raise DocsError("Only components have docs.")
    build = DocsBuild.objects.create(entity=entity, status=DocsStatus.QUEUED)
    done = jobs.run_inline(DOCS_BUILD, build, partial(_build_job, checkout_dir=checkout_dir))
    return _result(build.pk, done)


def _build(
    entity: Entity,
    build: DocsBuild,
    *,
    workdir: Path | None = None,
    checkout_dir: Path | str | None = None,
) -> DocsBuild:
    """The work of one claimed build: clone, copy, mkdocs in the sandbox, collect. Returns
    the build (its `status` the outcome) or, for a commit already built, that build."""
    work = Path(tempfile.mkdtemp(prefix="idp-docs-", dir=workdir))
    # Searchable, not listable: the sandbox's user reaches its copy and output folder only;
    # the clone (its .git may hold a URL's credentials) and git's home stay the worker's.
    os.chmod(work, 0o711)  # noqa: S103 - search only, see above
    env = _clean_env(work / "home")
    (work / "home").mkdir(mode=0o700)
    steps: list[str] = []
    commit = ""
    try:
        if checkout_dir is not None:
            root = Path(checkout_dir).resolve()
            docs_root = root
            commit = _commit_of(root, env)
        else:
            source = docs_source(entity)
            steps.append(
                f"clone {redact_credentials(source.url)} {source.ref or '(default branch)'}"
            )
            root = work / "checkout"
            docs_root, commit = checkout(source, root, env)
            os.chmod(root, 0o700)
        steps.append(f"commit {commit or '(not a git checkout)'}")
        if commit:
            existing = latest_build(entity)
            if existing is not None and existing.commit == commit:
                # Ended as cancelled (then dropped by the caller): nothing new to build.
                log.info("docs of %s: commit %s already built", entity.ref, commit)
                return existing
        copy, config_file, site = prepare_copy(docs_root, root, work)
        steps.append("mkdocs build (techdocs-core, sandboxed)")
        output = run_mkdocs(config_file, copy, site)
        files = collect_site(site)
        text = search_text_of(files)
        steps.append(f"stored {len(files)} files")
        _finish(
            build,
            DocsStatus.SUCCEEDED,
            log_text="\n".join([*steps, output]),
            commit=commit,
            files=files,
            search_text=text,
        )
    except DocsError as exc:
        _finish(build, DocsStatus.FAILED, log_text="\n".join([*steps, str(exc)]), commit=commit)
    except Exception as exc:
        _finish(build, DocsStatus.FAILED, log_text="\n".join([*steps, f"Internal error: {exc}"]))
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return build


def _commit_of(root: Path, env: dict[str, str]) -> str:
    if not (root / ".git").exists():
        return ""
    try:
        return _git(["rev-parse", "HEAD"], cwd=root, env=env, config=(f"safe.directory={root}",))
    except DocsError:
        return ""


# --- Serving and search -----------------------------------------------------------------


def build_file(build: DocsBuild, path: str) -> tuple[bytes, str] | None:
    """(content, stored path) of a built file; a folder path serves its index.html."""
    clean = PurePosixPath("/" + path).as_posix().lstrip("/")
    if ".." in clean.split("/"):
        return None
    files = build.files or {}
    for candidate in (clean, f"{clean}/index.html".lstrip("/"), "index.html" if not clean else ""):
        if candidate and candidate in files:
            value = files[candidate]
            if isinstance(value, dict):
                return base64.b64decode(value.get("base64", "")), candidate
            return str(value).encode("utf-8"), candidate
    return None


def search_docs(user: Any, q: str, *, limit: int = 50) -> list[DocsHit]:
    """Pages of the latest successful builds of entities `user` may read that contain `q`."""
    q = " ".join(q.split())
    if len(q) < 2:
        return []
    newest = (
        DocsBuild.objects.filter(entity=OuterRef("entity"), status=DocsStatus.SUCCEEDED)
        .order_by("-finished_at", "-pk")
        .values("pk")[:1]
    )
    builds = (
        DocsBuild.objects.filter(
            status=DocsStatus.SUCCEEDED,
            entity__in=visible_entities(user),
            pk=Subquery(newest),
            search_text__icontains=q,
        )
        .select_related("entity")
        .only("pk", "commit", "search_text", "finished_at", "entity")
        .order_by("entity__name")
    )
    hits: list[DocsHit] = []
    needle = q.lower()
    for build in builds[:limit]:
        for line in build.search_text.splitlines():
            path, _, rest = line.partition("\t")
            title, _, text = rest.partition("\t")
            at = text.lower().find(needle)
            if at < 0 and needle not in title.lower():
                continue
            start = max(at - 80, 0)
            snippet = ("…" if start else "") + text[start : max(at, 0) + len(q) + 120]
            hits.append(DocsHit(build.entity, build, path, title, snippet))
            if len(hits) >= limit:
                return hits
    return hits


__all__ = [
    "DocsError",
    "DocsHit",
    "DocsSource",
    "build_docs",
    "build_file",
    "can_request_build",
    "can_see_build_log",
    "docs_source",
    "last_attempt",
    "latest_build",
    "request_build",
    "run_queued",
    "search_docs",
    "visible_entities",
]
