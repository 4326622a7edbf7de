"""The sandbox docs builds run in: the repository's content is untrusted code.

Two halves. This module (the worker's side) makes a throwaway copy of the docs without a
single symlink (each link is resolved and refused when it leaves the checkout, at any depth,
through linked folders too), then starts `docs_runner.py` with an EMPTY environment and
watches it: a wall-clock limit, a cap on everything it writes, its log capped. The runner
(standard library only, run with `python -I -S`) puts the build into new namespaces (no
network, a private root that shows only the system's programs, Python and the copy), sets
CPU, memory, file-size, open-file and process limits, drops to an unprivileged user when the
worker is root, and execs the build. What it could not do it says in the log (`sandbox: …`);
`isolation()` asks it once per process.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

RUNNER = Path(__file__).with_name("docs_runner.py")
SANDBOX_USER = "nobody"  # the unprivileged user a root worker drops to
MiB = 1024 * 1024


class SandboxError(Exception):
    """The copy or the sandboxed process was refused or stopped; the message is fit to show."""


@dataclass(frozen=True)
class Limits:
    """What one sandboxed process may use."""

    cpu_seconds: int = 180
    wall_seconds: int = 300
    memory_bytes: int = 2048 * MiB  # address space (RLIMIT_AS)
    file_bytes: int = 64 * MiB  # any one file it writes, its log included
    output_bytes: int = 256 * MiB  # everything it writes into its writable folders
    output_files: int = 20_000
    tmp_bytes: int = 64 * MiB  # its private /tmp, where it has one
    open_files: int = 256
    processes: int = 64  # only where it runs as a user of its own


@dataclass
class SandboxResult:
    returncode: int
    output: str
    timed_out: bool = False
    too_large: bool = False


@dataclass(frozen=True)
class Isolation:
    """What this machine lets the sandbox do (see the runner's `sandbox:` lines)."""

    user: str | None
    network: bool
    filesystem: bool
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return "; ".join(self.notes) or "no report"


def python_command() -> list[str]:
    """This Python in isolated mode: no PYTHON* variables, no user site, no current folder."""
    return [sys.executable, "-I"]


def _python_paths() -> list[str]:
    """The folders the sandboxed Python must read: the venv and the installation under it."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.add(str(Path(sys.executable).parent))
    paths.add(str(Path(os.path.realpath(sys.executable)).parent))
    return sorted(p for p in paths if p and os.path.exists(p))


def _sandbox_user() -> tuple[str, int, int] | None:
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        return None
    return SANDBOX_USER, entry.pw_uid, entry.pw_gid


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


def _written(folders: list[Path], limits: Limits) -> bool:
    """Whether the folders hold more than the limits allow (stops counting early)."""
    total = files = 0
    stack = [str(f) for f in folders]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
            files += 1
            if total > limits.output_bytes or files > limits.output_files:
                return True
    return False


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def run(
    argv: list[str],
    *,
    readable: list[Path],
    writable: list[Path],
    cwd: Path,
    limits: Limits | None = None,
) -> SandboxResult:
    """Run `argv` in the sandbox: `readable` folders read-only, `writable` ones read-write
    (the first holds its HOME and TMPDIR), nothing else of the worker's, no environment but
    PATH/HOME/LANG/TMPDIR. Returns its exit code and output (the runner's notes first)."""
    limits = limits or Limits()
    if not writable:
        raise ValueError("a sandboxed process needs a writable folder")
    user = _sandbox_user()
    scratch = writable[0]
    home, tmp = scratch / ".home", scratch / ".tmp"
    home.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)
    if user is not None:
        for folder in writable:
            _chown_tree(folder, user[1], user[2])
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NO_COLOR": "1",
    }
    box = Path(tempfile.mkdtemp(prefix="idp-sandbox-"))
    try:
        jail = box / "root"
        jail.mkdir()
        python = _python_paths()
        spec = {
            "argv": argv,
            "env": env,
            "cwd": str(cwd),
            "readable": [*python, *map(str, readable)],
            "writable": [str(w) for w in writable],
            "needs": [sys.executable, *map(str, readable), *map(str, writable)],
            "jail": str(jail),
            "user": user[0] if user else "",
            "uid": user[1] if user else -1,
            "gid": user[2] if user else -1,
            "tmp_bytes": limits.tmp_bytes,
            "limits": {
                "cpu_seconds": limits.cpu_seconds,
                "memory_bytes": limits.memory_bytes,
                "file_bytes": limits.file_bytes,
                "open_files": limits.open_files,
                "processes": limits.processes,
            },
        }
        log_path = box / "output.log"
        timed_out = too_large = False
        with open(log_path, "wb") as log:
            # An empty environment and isolated mode: the runner loads nothing of the platform.
            process = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
                [sys.executable, "-I", "-S", str(RUNNER), json.dumps(spec)],
                env={},
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
            try:
                deadline = time.monotonic() + limits.wall_seconds
                while process.poll() is None:
                    if time.monotonic() > deadline:
                        timed_out = True
                        break
                    if _written(writable, limits):
                        too_large = True
                        break
                    time.sleep(0.05)  # a fast writer fills ~15 MB in this time
            finally:
                _kill(process)
        if not too_large and _written(writable, limits):
            too_large = True
        with open(log_path, "rb") as log:
            log.seek(max(0, log_path.stat().st_size - 200_000))
            output = log.read().decode("utf-8", errors="replace")
    finally:
        shutil.rmtree(box, ignore_errors=True)
    code = process.returncode if not (timed_out or too_large) else -signal.SIGKILL
    if timed_out:
        output += f"\nsandbox: stopped after {limits.wall_seconds}s"
    if too_large:
        output += f"\nsandbox: stopped: wrote more than {limits.output_bytes // MiB} MB"
    return SandboxResult(code, output, timed_out=timed_out, too_large=too_large)


@functools.lru_cache(maxsize=1)
def isolation() -> Isolation:
    """What the sandbox achieves on this machine (asked once: a trivial sandboxed run)."""
    folder = Path(tempfile.mkdtemp(prefix="idp-sandbox-probe-"))
    try:
        os.chmod(folder, 0o755)  # noqa: S103 - the sandbox's user reads it
        out = folder / "out"
        out.mkdir()
        result = run(
            [*python_command(), "-c", "pass"], readable=[folder], writable=[out], cwd=folder
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    notes = [
        line.removeprefix("sandbox: ").strip()
        for line in result.output.splitlines()
        if line.startswith("sandbox: ")
    ]
    user = _sandbox_user()
    dropped = user is not None and any(n.startswith(f"user: {user[0]}") for n in notes)
    dropped = dropped and not any(n.startswith("could not drop") for n in notes)
    ran = result.returncode == 0
    return Isolation(
        user=user[0] if dropped and user else None,
        network=ran and any(n.startswith("network: none") for n in notes),
        filesystem=ran and any(n.startswith("files: only") for n in notes),
        notes=notes,
    )


# --- The throwaway copy -----------------------------------------------------------------


def safe_copy(
    source: Path,
    target: Path,
    *,
    within: Path,
    max_bytes: int = 256 * MiB,
    max_files: int = 20_000,
) -> None:
    """Copy `source` into `target` (new) with every symlink resolved: a link whose target
    leaves `within` (or enters its `.git`) is refused, files are copied as plain files
    readable by anyone, special files are refused, `.git` folders are left out."""
    root = Path(os.path.realpath(within))
    git_dir = root / ".git"
    budget = {"bytes": max_bytes, "files": max_files}

    def allowed(real: Path) -> bool:
        return (real == root or root in real.parents) and not (
            real == git_dir or git_dir in real.parents
        )

    def copy_dir(src: str, dst: Path, shown: str, ancestors: tuple[str, ...]) -> None:
        dst.mkdir()
        os.chmod(dst, 0o755)  # noqa: S103 - the sandbox's user reads the copy
        for entry in sorted(os.scandir(src), key=lambda e: e.name):
            if entry.name == ".git":
                continue
            rel = f"{shown}{entry.name}"
            real = Path(os.path.realpath(entry.path))
            if not allowed(real):
                raise SandboxError(f"{rel} links outside the repository.")
            try:
                info = os.stat(real)
            except OSError as exc:
                raise SandboxError(f"{rel} is a broken link.") from exc
            if stat.S_ISDIR(info.st_mode):
                if str(real) in ancestors:
                    raise SandboxError(f"{rel} links to a folder above it (a loop).")
                copy_dir(str(real), dst / entry.name, rel + "/", (*ancestors, str(real)))
            elif stat.S_ISREG(info.st_mode):
                budget["bytes"] -= info.st_size
                budget["files"] -= 1
                if budget["bytes"] < 0 or budget["files"] < 0:
                    raise SandboxError(
                        f"The docs folder is larger than {max_bytes // MiB} MB"
                        f" or {max_files} files."
                    )
                shutil.copyfile(real, dst / entry.name, follow_symlinks=True)
                os.chmod(dst / entry.name, 0o644)
            else:
                raise SandboxError(f"{rel} is not a regular file or folder.")

    real_source = os.path.realpath(source)
    if not allowed(Path(real_source)):
        raise SandboxError("The docs folder is outside the repository.")
    copy_dir(real_source, target, "", (real_source,))


__all__ = [
    "Isolation",
    "Limits",
    "SandboxError",
    "SandboxResult",
    "isolation",
    "python_command",
    "run",
    "safe_copy",
]
