"""Where a docs build may clone from: no server-side request forgery through `techdocs-ref`.

Only `https://` and `ssh://` (or scp-like `git@host:path`) URLs; the host is resolved and
every address it has must be public (not loopback, private, link-local, shared, reserved or
multicast, however it is spelled: `2130706433`, `0177.0.0.1`, `[::ffff:127.0.0.1]`,
`localhost.`), unless a platform admin allows the host in `IDP_DOCS_ALLOWED_HOSTS`. The clone
then connects to the address that was checked (no second lookup to rebind), follows no
redirect and speaks no other protocol. Local paths and `file://` stay for Git locations a
platform admin registered (`catalog/software/services/discovery.py`), never for a URL a descriptor
names.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from catalog.services import gitrepo
from idp.conf import setting

SCP_LIKE = re.compile(r"^(?P<user>[\w.-]+)@(?P<host>[\w.-]+):(?P<path>[^/].*|/.+)$")
HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9.])?$")
DEFAULT_PORTS = {"https": 443, "ssh": 22}
# Git speaks only these, never follows a redirect, never falls back to another protocol.
GIT_CONFIG = (
    "http.followRedirects=false",
    "protocol.allow=never",
    "protocol.https.allow=always",
    "protocol.ssh.allow=always",
    "protocol.file.allow=never",
)


TECHDOCS_REF = "backstage.io/techdocs-ref"


class RemoteError(Exception):
    """The URL is refused; the message names the host and the reason, never credentials."""


@dataclass(frozen=True)
class Remote:
    url: str
    scheme: str
    host: str
    port: int


def parse(url: str) -> Remote:
    """The scheme, host and port of a clone URL; only https and ssh."""
    url = url.strip()
    if url.startswith("-") or any(c in url for c in "\n\r\0 "):
        raise RemoteError("Not a Git URL: only https:// or ssh:// (or git@host:path).")
    scp = SCP_LIKE.match(url)
    if scp and "://" not in url:
        return Remote(url, "ssh", scp["host"].lower(), 22)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RemoteError(f"Not a valid URL: {exc}.") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        shown = f"{scheme}://" if scheme else "a path"
        raise RemoteError(
            f"Docs are cloned over https:// or ssh:// (or git@host:path) only, not {shown}."
        )
    host = (parts.hostname or "").lower()
    if not host:
        raise RemoteError("The URL names no host.")
    return Remote(url, scheme, host, port or DEFAULT_PORTS[scheme])


def _allowed_hosts() -> set[str]:
    return {h.strip().lower().rstrip(".") for h in setting("IDP_DOCS_ALLOWED_HOSTS") if h}


def _refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Why an address is not one the platform fetches from ('' when it is public)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for attribute, what in (
        ("is_loopback", "a loopback"),
        ("is_link_local", "a link-local"),
        ("is_private", "a private"),
        ("is_multicast", "a multicast"),
        ("is_reserved", "a reserved"),
        ("is_unspecified", "an unspecified"),
    ):
        if getattr(address, attribute):
            return what
    if not address.is_global:
        return "a non-public"
    return ""


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host spells without DNS: IPv6, dotted, decimal, octal or hex IPv4."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        # inet_aton reads every legacy IPv4 spelling (2130706433, 0177.1, 0x7f.1), as git does.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, UnicodeError):
        return None


def check_url(url: str) -> None:
    """What can be checked of a clone URL without DNS (when a descriptor is imported): the
    scheme, and a host that is a literal non-public address or a loopback name. The build
    checks every resolved address again before it clones."""
    remote = parse(url)
    host = remote.host.rstrip(".")
    if host in _allowed_hosts():
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise RemoteError(
            f"The host {remote.host!r} is a loopback name; docs are only cloned from public hosts."
        )
    address = _literal_address(host)
    why = _refusal(address) if address is not None else ""
    if why:
        raise RemoteError(
            f"The host {remote.host!r} is {address}, {why} address; docs are only cloned"
            " from public hosts (a platform admin may allow a host: IDP_DOCS_ALLOWED_HOSTS)."
        )


def resolve(remote: Remote) -> list[str]:
    """The addresses of the host, each checked; raises RemoteError for any non-public one
    (unless the host is allowed), or when the host does not resolve."""
    if remote.host.rstrip(".") in _allowed_hosts():
        return []
    if not (HOST_NAME.match(remote.host) or ":" in remote.host):
        raise RemoteError(f"The host {remote.host!r} is not a valid host name.")
    try:
        infos = socket.getaddrinfo(remote.host, remote.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RemoteError(f"The host {remote.host!r} cannot be resolved.") from exc
    addresses: list[str] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        address = ipaddress.ip_address(text)
        why = _refusal(address)
        if why:
            raise RemoteError(
                f"The host {remote.host!r} is {address}, {why} address; docs are only cloned"
                " from public hosts (a platform admin may allow a host: IDP_DOCS_ALLOWED_HOSTS)."
            )
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise RemoteError(f"The host {remote.host!r} cannot be resolved.")
    return addresses


def pinned_config(remote: Remote, addresses: list[str]) -> tuple[str, ...]:
    """Git options that make the clone connect to the checked address, not a new lookup."""
    if not addresses:
        return GIT_CONFIG
    first = addresses[0]
    shown = f"[{first}]" if ":" in first else first
    if remote.scheme == "https":
        return (*GIT_CONFIG, f"http.curloptResolve={remote.host}:{remote.port}:{shown}")
    if HOST_NAME.match(remote.host):
        # Host and address are checked above: letters, digits, '.', '-' and an IP only.
        ssh = f"ssh -o HostName={first} -o HostKeyAlias={remote.host}"
        return (*GIT_CONFIG, f"core.sshCommand={ssh}")
    return GIT_CONFIG


def clone(url: str, into: Path, env: dict[str, str], *, ref: str = "") -> str:
    """Check `url` and clone it (depth 1) into `into`; returns the commit."""
    remote = parse(url)
    config = pinned_config(remote, resolve(remote))
    args = ["clone", "--depth", "1", "--no-tags", "--quiet"]
    if ref:
        args += ["--branch", ref]
    gitrepo.run_git([*args, "--", remote.url, str(into)], cwd=None, env=env, config=config)
    return gitrepo.run_git(["rev-parse", "HEAD"], cwd=into, env=env)


__all__ = [
    "GIT_CONFIG",
    "Remote",
    "TECHDOCS_REF",
    "RemoteError",
    "check_url",
    "clone",
    "parse",
    "pinned_config",
    "resolve",
]
