"""Template source benchmark: how long a sync of a Git repository with 50 tags takes.

A bare repository is made on the spot (50 commits of a provider-free module, each tagged
`v1.0.N`) and registered as a template source through `register_source`; then the figures:
the first sync (a bare clone, 50 tags listed, checked out and parsed, 50 versions stored)
and a second sync that finds nothing new (the cost of the schedule on a quiet source).
The source, its template and versions are deleted afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

TAGS = 50
GOAL_FIRST_SECONDS = 30.0
GOAL_QUIET_SECONDS = 5.0

VARIABLES = """variable "message" {{
  description = "A message."
  type        = string
  default     = "release {n}"
}}
"""
MAIN = """resource "terraform_data" "note" {
  input = var.message
}
"""
YAML = "title: Bench note\ndescription: A provider-free benchmark module.\ncategory: testing\n"


def make_repository(root: Path, tags: int = TAGS) -> Path:
    """A bare repository whose `tags` commits are tagged v1.0.0 … v1.0.<tags-1>."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    work = root / "work"
    bare = root / f"bench-src-{uuid.uuid4().hex[:8]}.git"

    def git(*args: str, cwd: Path = work) -> None:
        subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)

    work.mkdir(parents=True)
    git("init", "-q", "-b", "main")
    (work / "main.tf").write_text(MAIN)
    (work / "template.yaml").write_text(YAML)
    for n in range(tags):
        (work / "variables.tf").write_text(VARIABLES.format(n=n))
        (work / "CHANGELOG.md").write_text(f"# Changelog\n\n## v1.0.{n}\n- Release {n}.\n")
        git("add", "-A")
        git("commit", "-q", "-m", f"release {n}")
        git("tag", "-a", f"v1.0.{n}", "-m", f"Release {n}")
    git("clone", "-q", "--bare", str(work), str(bare), cwd=root)
    return bare


def measure(tags: int = TAGS) -> dict[str, Any]:
    """Seconds of the first sync of a `tags`-tag source and of a quiet re-sync."""
    from catalog.models import Template, TemplateSource
    from catalog.services import sources

    root = Path(tempfile.mkdtemp(prefix="idp-bench-source-"))
    try:
        bare = make_repository(root, tags)
        source = sources.register_source(None, f"file://{bare}")
        started = time.perf_counter()
        first = sources.sync_source(source)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        quiet = sources.sync_source(source)
        quiet_seconds = time.perf_counter() - started
        row = {
            "tags": tags,
            "versions_created": len(first.created),
            "first_sync_s": round(first_seconds, 2),
            "quiet_sync_s": round(quiet_seconds, 2),
            "ms_per_tag": round(first_seconds * 1000 / max(tags, 1), 1),
            "quiet_created": len(quiet.created),
            "errors": {**first.failed, **first.refused, "source": first.error}
            if not first.as_json()["ok"]
            else {},
        }
        Template.objects.filter(source=source).delete()
        TemplateSource.objects.filter(pk=source.pk).delete()
        return row
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_section(results: Any, *, log: Any) -> None:
    log(f"sources: sync of a template source with {TAGS} tags…")
    row = measure()
    results.sections["sources"] = row
    complete = row["versions_created"] == TAGS and not row["errors"]
    results.target(
        "sources",
        f"first sync, {TAGS} tags (s)",
        row["first_sync_s"],
        f"≤ {GOAL_FIRST_SECONDS:.0f} s",
        row["first_sync_s"] <= GOAL_FIRST_SECONDS and complete,
        f"{row['versions_created']} versions, {row['ms_per_tag']} ms per tag",
    )
    results.target(
        "sources",
        "quiet re-sync (s)",
        row["quiet_sync_s"],
        f"≤ {GOAL_QUIET_SECONDS:.0f} s",
        row["quiet_sync_s"] <= GOAL_QUIET_SECONDS and row["quiet_created"] == 0,
    )
