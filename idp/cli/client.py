"""HTTP access to the IDP API, turning every failure into one line on stderr and an exit code."""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
import ssl
import uuid
from typing import Any, NoReturn

import httpx
import typer

from . import config as cfg

# Exit codes (documented in docs/cli.md).
OK = 0
FAILED = 1
USAGE = 2
AUTH = 3
NOT_FOUND = 4
SERVER = 5

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def fail(message: str, code: int) -> NoReturn:
    """Print one line to stderr and exit with `code`."""
    line = " ".join(str(message).split())
    typer.echo(f"error: {line}", err=True)
    raise typer.Exit(code)


def _flatten_detail(detail: Any, prefix: str = "") -> str:
    """`{"parameters": {"replicas": ["too big"]}}` → `parameters.replicas: too big`."""
    if isinstance(detail, dict):
        parts = []
        for field, messages in detail.items():
            name = f"{prefix}{field}"
            if isinstance(messages, dict):
                parts.append(_flatten_detail(messages, f"{name}."))
            elif isinstance(messages, list):
                parts.append(f"{name}: " + "; ".join(map(str, messages)))
            else:
                parts.append(f"{name}: {messages}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return "; ".join(map(str, detail))
    return str(detail)


def error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "detail" in body:
        return _flatten_detail(body["detail"])
    return response.reason_phrase or f"HTTP {response.status_code}"


# Names the API resolves by slug, and the list that holds the valid ones: an unknown one is
# answered with the closest ("did you mean …?") and the names there are.
NAMED_LISTS = {
    "template": "/api/v1/templates/",
    "environment": "/api/v1/environments/",
    "team": "/api/v1/teams/",
}
PLURALS = {"template": "templates", "environment": "environments", "team": "teams"}
UNKNOWN = re.compile(r"^Unknown (template|environment|team) '([^']*)'")
DETAIL_PATH = re.compile(r"^/api/v1/(templates|environments|teams)/([^/]+)/$")
MAX_LISTED = 20


def suggestion(kind: str, given: str, valid: list[str]) -> str:
    """`did you mean example-config? Valid templates: a, b` (only the list when none is close)."""
    if not valid:
        return f"there are no {PLURALS[kind]} you can use"
    close = difflib.get_close_matches(given, valid, n=1, cutoff=0.6)
    shown = ", ".join(sorted(valid)[:MAX_LISTED]) + (", …" if len(valid) > MAX_LISTED else "")
    hint = f"did you mean {close[0]}? " if close else ""
    return f"{hint}Valid {PLURALS[kind]}: {shown}"


def unknown_names(method: str, path: str, response: httpx.Response) -> list[tuple[str, str]]:
    """(kind, name) of every template, environment or team the API did not know."""
    if response.status_code == 404 and method == "GET":
        match = DETAIL_PATH.match(path)
        return [(match.group(1).removesuffix("s"), match.group(2))] if match else []
    if response.status_code != 400:
        return []
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return []
    found = []
    for kind in NAMED_LISTS:
        messages = detail.get(kind) if isinstance(detail, dict) else None
        for message in messages if isinstance(messages, list) else [messages]:
            match = UNKNOWN.match(str(message or ""))
            if match and match.group(1) == kind:
                found.append((kind, match.group(2)))
    return found


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """The one TLS context of this process: loading the CA bundle costs ~25 ms, so every
    client of a command (and every command of a test run) shares it."""
    return httpx.create_ssl_context()


def exit_code_for(status: int) -> int:
    if status in (401, 403):
        return AUTH
    if status == 404:
        return NOT_FOUND
    if status >= 500:
        return SERVER
    # 400, 409, 429…: the operation was refused.
    return FAILED


class Client:
    """A thin wrapper over httpx with the base URL and token from the config."""

    def __init__(self, url: str, token: str, *, require_token: bool = True) -> None:
        if not url:
            fail("not signed in: run `idp login --url URL` (or set IDP_URL)", AUTH)
        if require_token and not token:
            fail("not signed in: run `idp login` (or set IDP_TOKEN)", AUTH)
        self.base = url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "idp-cli"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # One fresh key per command run: every write it sends carries an Idempotency-Key made
        # from it and the request, so the same request sent again in this run (a retry)
        # never acts twice, and two different writes of one run never share a key.
        self.invocation = uuid.uuid4().hex
        self.http = httpx.Client(
            base_url=self.base,
            headers=headers,
            timeout=TIMEOUT,
            verify=ssl_context(),
            event_hooks={"request": [self._idempotency_key]},
        )
        self.warned: set[tuple[str, str]] = set()

    def _idempotency_key(self, request: httpx.Request) -> None:
        if request.method not in WRITES or "Idempotency-Key" in request.headers:
            return  # a read, or a key the user chose (`--idempotency-key`)
        digest = hashlib.sha256(
            b"%s %s\n%s" % (request.method.encode(), str(request.url).encode(), request.content)
        ).hexdigest()
        request.headers["Idempotency-Key"] = f"cli-{self.invocation}-{digest[:16]}"

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the API; on any error print one line and exit with the matching code."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"cannot reach {self.base}: {exc.__class__.__name__}: {exc}", SERVER)
        self.warn_if_deprecated(method, path, response)
        if response.status_code >= 400:
            message = error_message(response)
            if response.status_code == 401:
                message = f"not signed in ({message}); run `idp login`"
            elif response.status_code == 429:
                retry = response.headers.get("Retry-After")
                message = f"rate limited ({message})" + (f"; retry after {retry}s" if retry else "")
            hints = [
                self.suggest(kind, name) for kind, name in unknown_names(method, path, response)
            ]
            message = "; ".join([message, *(hint for hint in hints if hint)])
            # The message first; where it came from (status, operation) at the end.
            fail(
                f"{message} ({response.status_code} on {method} {path})",
                exit_code_for(response.status_code),
            )
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            fail(f"the server answered something that is not JSON ({method} {path})", SERVER)

    def suggest(self, kind: str, given: str) -> str:
        """The closest valid name and the valid ones, from the API's list (empty when the
        list cannot be read: the refusal is said either way)."""
        try:
            response = self.http.get(NAMED_LISTS[kind], params={"page_size": 500})
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return ""
        items = body.get("results", []) if isinstance(body, dict) else body
        if not isinstance(items, list):
            return ""
        names = [str(item["slug"]) for item in items if isinstance(item, dict) and "slug" in item]
        return suggestion(kind, given, names)

    def warn_if_deprecated(self, method: str, path: str, response: httpx.Response) -> None:
        """One line on stderr per deprecated operation the command used (docs/api.md)."""
        if "Deprecation" not in response.headers or (method, path) in self.warned:
            return
        self.warned.add((method, path))
        sunset = response.headers.get("Sunset")
        links = httpx.Headers(response.headers).get_list("Link", split_commas=True)
        successor = next((link for link in links if 'rel="successor-version"' in link), "")
        line = f"warning: {method} {path} is deprecated by the server"
        if sunset:
            line += f" and may be removed after {sunset}"
        if successor:
            line += f"; use {successor.split(';')[0].strip(' <>')}"
        typer.echo(line + " (see the server's /api/v1/changelog/; upgrade the CLI)", err=True)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return self.request("GET", path, params=clean)

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.request("POST", path, json=body if body is not None else {}, headers=headers)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def list(self, path: str, params: dict[str, Any] | None = None, limit: int = 100) -> list[Any]:
        """Items of a (DRF-paginated or plain) list, following pages up to `limit` items."""
        query = dict(params or {})
        query.setdefault("page_size", min(limit, 500))
        body = self.get(path, query)
        if isinstance(body, list):
            return body[:limit]
        items = list(body.get("results", []))
        page = 1
        while body.get("next") and len(items) < limit:
            page += 1
            body = self.get(path, {**query, "page": page})
            items.extend(body.get("results", []))
        if body.get("count", 0) > len(items[:limit]):
            typer.echo(f"(showing {len(items[:limit])} of {body['count']}; use --limit)", err=True)
        return items[:limit]


def client(require_token: bool = True) -> Client:
    conf = cfg.load()
    return Client(conf.url, conf.token, require_token=require_token)


def read_json_file(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:  # noqa: PTH123 - a user-given path
            return json.load(handle)
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", USAGE)
    except ValueError as exc:
        fail(f"{path} is not valid JSON: {exc}", USAGE)
