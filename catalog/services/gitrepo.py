"""Running the real `git` CLI on repositories the platform does not trust (docs builds and
discovery share it): argument lists, never a shell; a scrubbed environment; `ext::` never
allowed and the local disk (`file://`, paths) only where the caller chose; a time limit; and
credentials in URLs redacted from every message. Also what a Git target may be (a location's
or a template source's) and one key per repository however its URL is spelt."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from idp.services import Forbidden

from ..choices import LocationType
from ..sensitivity import redact_credentials

GIT_TIMEOUT = 120  # seconds per git command (a clone included)
# A remote Git URL: https://, ssh://, git://, or scp-like git@host:path.
GIT_URL = re.compile(r"^(https?|ssh|git)://|^[\w.-]+@[\w.-]+:")
FILE_URL = "file://"
GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
REMOTE_SCHEMES = re.compile(r"^(https|ssh)://[^/\s]+/\S+$|^[\w.-]+@[\w.-]+:\S+$")


class GitError(Exception):
    """git failed or took too long; the message is redacted and fit to show."""


def is_local(url: str) -> bool:
    """A `file://` URL or a path on the worker's disk (not a remote Git URL)."""
    return url.startswith(FILE_URL) or not GIT_URL.match(url)


def clean_env(home: Path) -> dict[str, str]:
    """The environment of git (and of MkDocs after it): nothing of the platform's (no
    secrets, no database URL)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NO_COLOR": "1",
    }


def run_git(
    args: list[str],
    *,
    cwd: Path | None,
    env: dict[str, str],
    config: tuple[str, ...] = (),
    timeout: int = GIT_TIMEOUT,
) -> str:
    """Run `git ARGS` and return its output; raise GitError on failure or timeout."""
    # ext:: runs commands and file:// reads the worker's disk: only allowed where chosen.
    options = [item for pair in config for item in ("-c", pair)]
    command = ["git", "-c", "protocol.ext.allow=never", *options, *args]
    try:
        done = subprocess.run(  # noqa: S603 - an argument list, never a shell
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} took longer than {timeout}s.") from exc
    if done.returncode != 0:
        raise GitError(redact_credentials(f"git {args[0]} failed: {done.stderr.strip()[-2000:]}"))
    return done.stdout.strip()


def run_tool(command: list[str], *, env: dict[str, str], timeout: int = GIT_TIMEOUT) -> str:
    """Run a helper git relies on (gpg to import a source's signing key) the same way: an
    argument list, the scrubbed environment, a time limit; raise GitError on failure."""
    try:
        done = subprocess.run(  # noqa: S603 - an argument list, never a shell
            command, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (subprocess.TimeoutExpired, OSError) as exc:
        raise GitError(f"{command[0]} could not run: {exc.__class__.__name__}") from exc
    if done.returncode != 0:
        raise GitError(redact_credentials(f"{command[0]} failed: {done.stderr.strip()[-2000:]}"))
    return done.stdout.strip()


def shallow_clone(
    url: str, into: Path, env: dict[str, str], *, ref: str = "", local: bool = False
) -> str:
    """Clone `url` at `ref` (else the default branch) into `into`, depth 1; return the commit.

    `local` allows a path or `file://` URL on the worker's disk; without it only remote
    URLs are fetched (file:// refused by git itself).
    """
    if local and not url.startswith(FILE_URL):
        url = str(Path(url).expanduser().resolve())
    args = ["clone", "--depth", "1", "--no-tags", "--quiet"]
    if ref:
        args += ["--branch", ref]
    config = () if local else ("protocol.file.allow=never",)
    run_git([*args, "--", url, str(into)], cwd=None, env=env, config=config)
    return run_git(["rev-parse", "HEAD"], cwd=into, env=env)


__all__ = [
    "FILE_URL",
    "GIT_TIMEOUT",
    "GIT_URL",
    "GitError",
    "clean_env",
    "is_local",
    "repo_key",
    "run_git",
    "run_tool",
    "shallow_clone",
    "validate_target",
]


def validate_target(type_: str, target: str, *, admin: bool) -> tuple[str, str]:
    """(normalised target, error) of a location's or a template source's target; error ''
    when fine."""
    target = target.strip()
    if not target:
        return target, "A target is required."
    if target.startswith("-"):
        return target, "A target may not start with '-'."
    if type_ == LocationType.GITHUB_ORG:
        if not GITHUB_LOGIN.match(target):
            return target, "A GitHub organisation's login (letters, digits and '-')."
        return target, ""
    if REMOTE_SCHEMES.match(target):
        return target, ""
    if re.match(r"^[a-z][a-z0-9+.-]*://", target) and not target.startswith(FILE_URL):
        return target, "Only https://, ssh:// or git@host:path Git URLs are allowed."
    if "\n" in target or "\0" in target:
        return target, "Not a Git URL or path."
    # file:// and paths read the platform's own disk.
    if not admin:
        raise Forbidden("Only platform admins register local paths or file:// URLs.")
    if target.startswith(FILE_URL):
        return target, ""
    if not os.path.isabs(target):
        return target, "A local path must be absolute."
    return target, ""


def repo_key(url: str) -> str:
    """host/owner/name of a Git URL in any spelling (https, ssh, git@host:path, .git)."""
    url = url.strip().lower()
    match = re.match(r"^[\w.-]+@([\w.-]+):(.+)$", url)
    if match:
        host, path = match[1], match[2]
    else:
        parts = urlsplit(url)
        host, path = (parts.hostname or ""), parts.path
    path = path.strip("/").removesuffix(".git")
    return f"{host}/{path}" if host else path
