"""The child side of the docs sandbox: set up isolation, then exec the build.

Started by `catalog/software/services/docs_sandbox.py` as `python -I -S docs_runner.py SPEC` with an
empty environment. It imports only the standard library (never the platform, never Django),
so nothing of the worker's configuration is loaded. SPEC is JSON: argv, env, cwd, the folders
to show read-only and read-write, the jail folder, the user to become and the limits.

Steps, each reported on stderr as `sandbox: …` (the build log shows them):
1. new mount, network, PID, IPC and UTS namespaces (as root; else inside a new user namespace
   where the kernel allows one). Without them: no network or filesystem isolation, said so.
2. fork: the build is PID 1 of its namespace, so everything it starts dies with it.
3. a private root: a small tmpfs holding read-only binds of the system's programs and
   libraries, the Python installation and the copy, the output folder read-write, a small
   /tmp, /dev/null & co; `pivot_root` into it and detach the old root.
4. resource limits (CPU, address space, file size, open files, processes).
5. drop to the unprivileged user (root only), no new privileges, exec.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import platform
import resource
import signal
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
# statvfs flags that a bind mount in a user namespace must keep when remounted read-only.
ST_FLAGS = (
    (getattr(os, "ST_NOSUID", 0), MS_NOSUID),
    (getattr(os, "ST_NODEV", 0), MS_NODEV),
    (getattr(os, "ST_NOEXEC", 0), MS_NOEXEC),
)
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41}
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/alternatives")
SIGNALS = {"SIGXCPU": " (the CPU time limit)", "SIGXFSZ": " (the file size limit)"}
DEVICES = ("null", "zero", "full", "random", "urandom")


def note(message: str) -> None:
    sys.stderr.write(f"sandbox: {message}\n")
    sys.stderr.flush()


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(text)


def enter_namespaces(libc: Any, root: bool) -> bool:
    """New namespaces for the build; False when the kernel refuses them."""
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    uid, gid = os.getuid(), os.getgid()
    try:
        if root:
            _check(libc.unshare(flags))
        else:
            # Without root, a user namespace where we are root lets us set up the rest.
            _check(libc.unshare(flags | CLONE_NEWUSER))
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"0 {uid} 1")
            _write("/proc/self/gid_map", f"0 {gid} 1")
    except (OSError, AttributeError) as exc:
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        note(f"network isolation unavailable ({reason})")
        note("files: not restricted (no mount namespace)")
        return False
    note("network: none (own namespace)")
    return True


def _bytes(value: str | None) -> bytes | None:
    return value.encode() if value is not None else None


def _mount(
    libc: Any, source: str | None, target: str, fstype: str | None, flags: int, data: str = ""
) -> None:
    _check(libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data or None)))


def _bind(libc: Any, jail: str, path: str, *, writable: bool) -> None:
    target = jail + path
    if os.path.isdir(path):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(libc, path, target, None, MS_BIND | MS_REC)
    if not writable:
        kept = sum(ms for st, ms in ST_FLAGS if os.statvfs(path).f_flag & st)
        _mount(libc, None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | kept)


def _covered(path: str, done: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in done)


def build_jail(libc: Any, spec: dict[str, Any]) -> None:
    """A private root with only what the build needs; pivot into it."""
    jail = spec["jail"]
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    _mount(libc, "tmpfs", jail, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
    # /tmp first: the folders bound below may live under the host's /tmp.
    private_tmp = jail + "/tmp"  # noqa: S108 - the jail's own, a fresh tmpfs
    os.makedirs(private_tmp, exist_ok=True)
    tmp_options = f"size={spec['tmp_bytes']},mode=1777"
    _mount(libc, "tmpfs", private_tmp, "tmpfs", MS_NOSUID | MS_NODEV, tmp_options)
    done: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            os.symlink(os.readlink(path), jail + path)
        elif os.path.isdir(path):
            _bind(libc, jail, path, writable=False)
            done.append(path)
    readable = sorted({os.path.realpath(p) for p in spec["readable"]} | set(spec["readable"]))
    for path in [*SYSTEM_FILES, *readable]:
        if os.path.exists(path) and not _covered(path, done):
            _bind(libc, jail, path, writable=False)
            done.append(path)
    for path in spec["writable"]:
        _bind(libc, jail, path, writable=True)
    os.makedirs(jail + "/dev", exist_ok=True)
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            _bind(libc, jail, f"/dev/{name}", writable=True)
    os.makedirs(jail + "/proc", exist_ok=True)
    with contextlib.suppress(OSError):  # Python and MkDocs run without /proc
        _mount(libc, "proc", jail + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(jail)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is not None:
        # pivot_root(".", "."): the old root stacks under the new one; detach it.
        _check(libc.syscall(number, b".", b"."))
        _check(libc.umount2(b".", MNT_DETACH))
    else:
        os.chroot(".")
    os.chdir("/")
    _mount(libc, None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def set_limits(limits: dict[str, int], *, processes: bool) -> None:
    pairs = [
        (resource.RLIMIT_CPU, limits["cpu_seconds"]),
        (resource.RLIMIT_AS, limits["memory_bytes"]),
        (resource.RLIMIT_FSIZE, limits["file_bytes"]),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_CORE, 0),
    ]
    if processes:
        # Counted per real user: only meaningful for a user of our own.
        pairs.append((resource.RLIMIT_NPROC, limits["processes"]))
    for kind, value in pairs:
        # CPU: SIGXCPU at the limit (reported as such), SIGKILL a little later.
        hard = value + 5 if kind == resource.RLIMIT_CPU else value
        try:
            resource.setrlimit(kind, (value, hard))
        except (ValueError, OSError) as exc:  # e.g. macOS refuses an address-space limit
            note(f"limit {kind} not set ({exc})")


def _open_to_others(path: str) -> bool:
    """Whether any user may reach `path`: every folder above it searchable by others, the
    path itself readable by them."""
    real = os.path.realpath(path)
    current = "/"
    for part in real.strip("/").split("/"):
        if not os.stat(current).st_mode & 0o001:
            return False
        current = os.path.join(current, part)
    return bool(os.stat(real).st_mode & 0o004)


def drop_user(uid: int, gid: int) -> None:
    """For good: groups, then group, then user (real, effective and saved)."""
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def child(spec: dict[str, Any], libc: Any, namespaces: bool, root: bool) -> None:
    """PID 1 of the build's namespace (or the build's only process): private root, limits,
    user, exec."""
    with contextlib.suppress(AttributeError):  # the build dies with the runner
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    jailed = False
    if namespaces:
        try:
            build_jail(libc, spec)
            jailed = True
            note("files: only the copy (read-only) and the output folder")
        except OSError as exc:
            # Some kernels or security modules allow the namespaces but not the mounts:
            # build without the private root, still without network.
            note(f"files: not restricted (private root refused: {exc.strerror})")
    drop = root and spec["uid"] >= 0
    if drop and not jailed and not all(_open_to_others(p) for p in spec["needs"]):
        # Outside a private root the user must reach Python on the host's own paths.
        note(f"could not drop to {spec['user']}: the Python installation is not open to it")
        drop = False
    if drop:
        note(f"user: {spec['user']} (uid {spec['uid']})")
    elif root:
        note("user: the worker's (root)")
    else:
        note("user: the worker's own (not root, so no other user to drop to)")
    set_limits(spec["limits"], processes=drop)
    if drop:
        drop_user(spec["uid"], spec["gid"])
    elif namespaces and not root:
        # Root of our user namespace no more: a nested one where we are an ordinary user,
        # owning no mount or network namespace, so its capabilities reach nothing.
        outer_uid, outer_gid = os.getuid(), os.getgid()
        _check(libc.unshare(CLONE_NEWUSER))
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"65534 {outer_uid} 1")
        _write("/proc/self/gid_map", f"65534 {outer_gid} 1")
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)
    with contextlib.suppress(AttributeError, OSError):  # no setuid programs to gain from
        _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
    os.chdir(spec["cwd"])
    os.execve(spec["argv"][0], spec["argv"], spec["env"])  # noqa: S606 - an argument list


def main() -> int:
    spec = json.loads(sys.argv[1])
    root = os.geteuid() == 0
    try:
        libc = _libc()
    except OSError:
        libc = None
    namespaces = libc is not None and enter_namespaces(libc, root)
    pid = os.fork()
    if pid == 0:
        try:
            child(spec, libc, namespaces, root)
        except BaseException as exc:  # noqa: BLE001 - report and leave, never fall through
            note(f"could not start the build: {exc}")
            os._exit(70)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        name = signal.Signals(-code).name
        note(f"stopped by signal {name}{SIGNALS.get(name, '')}")
        return 128 - code
    return code


if __name__ == "__main__":
    sys.exit(main())
