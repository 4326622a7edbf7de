"""A small GitHub-shaped REST server on a loopback port, for PyGithub over real HTTP.

It follows the documented shapes and status codes of the GitHub REST API endpoints the
platform uses (repositories, git refs, contents, pulls, users, environments and their
variables, actions runs and jobs), keeps state in memory, records every request (method,
path, query, JSON body) and can be switched into error modes: 404, 403 (missing scope),
422 (validation) and the primary rate limit with X-RateLimit-Reset.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DOCS = "https://docs.github.com/rest"
_ids = itertools.count(1000)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _sha(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()  # noqa: S324 - a fake git sha


@dataclass
class Repo:
    owner: str
    name: str
    default_branch: str = "main"
    id: int = field(default_factory=lambda: next(_ids))
    refs: dict[str, str] = field(default_factory=dict)
    files: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    pulls: list[dict[str, Any]] = field(default_factory=list)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    jobs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Failure:
    status: int
    path_contains: str = ""
    method: str = ""
    times: int | None = None  # None = until cleared


class FakeGitHub:
    """The server's state and controls; `url` is the API base URL for PyGithub."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.users: dict[str, int] = {}
        self.requests: list[dict[str, Any]] = []
        self.failures: list[Failure] = []
        self.rate_limit_reset = 0
        self.lock = threading.RLock()
        self.server: ThreadingHTTPServer | None = None
        self.url = ""

    # --- controls for tests -------------------------------------------------------------

    def add_repo(self, full_name: str, default_branch: str = "main") -> Repo:
        owner, name = full_name.split("/")
        repo = Repo(owner=owner, name=name, default_branch=default_branch)
        repo.refs[f"heads/{default_branch}"] = _sha(full_name, "initial")
        self.repos[full_name.lower()] = repo
        return repo

    def add_file(self, full_name: str, path: str, content: str, branch: str = "") -> None:
        """A file on a branch (the default one unless named), as the contents API reads it."""
        repo = self.repos[full_name.lower()]
        branch = branch or repo.default_branch
        repo.files[(branch, path)] = {"content": content, "sha": _sha("blob", content)}
        repo.refs[f"heads/{branch}"] = _sha(full_name, branch, path, content)

    def add_user(self, login: str) -> int:
        self.users[login.lower()] = next(_ids)
        return self.users[login.lower()]

    def fail(
        self, status: int, *, path_contains: str = "", method: str = "", times: int | None = None
    ) -> None:
        """Answer matching requests with an error: 404, 403 (scope), 422 or 429/403 rate limit."""
        self.failures.append(Failure(status, path_contains, method.upper(), times))

    def rate_limit(
        self, *, reset_in: int = 600, path_contains: str = "", times: int | None = None
    ) -> int:
        """Answer matching requests with GitHub's primary rate limit error; returns reset epoch."""
        self.rate_limit_reset = int(time.time()) + reset_in
        self.fail(-1, path_contains=path_contains, times=times)
        return self.rate_limit_reset

    def clear_failures(self) -> None:
        self.failures.clear()

    def add_run(self, full_name: str, path: str, **fields: Any) -> dict[str, Any]:
        """A workflow run as GET /repos/{owner}/{repo}/actions/runs lists it."""
        repo = self.repos[full_name.lower()]
        run_id = fields.pop("id", next(_ids))
        run = {
            "id": run_id,
            "name": fields.pop("name", "CI/CD"),
            "node_id": f"WFR_{run_id}",
            "head_branch": fields.pop("head_branch", repo.default_branch),
            "head_sha": fields.pop("head_sha", _sha("run", str(run_id))),
            "path": path,
            "run_number": fields.pop("run_number", 1),
            "run_attempt": fields.pop("run_attempt", 1),
            "event": fields.pop("event", "push"),
            "status": fields.pop("status", "completed"),
            "conclusion": fields.pop("conclusion", "success"),
            "workflow_id": 77,
            "url": f"{self.url}/repos/{repo.full_name}/actions/runs/{run_id}",
            "html_url": f"https://github.com/{repo.full_name}/actions/runs/{run_id}",
            "jobs_url": f"{self.url}/repos/{repo.full_name}/actions/runs/{run_id}/jobs",
            "created_at": fields.pop("created_at", "2026-01-05T10:00:00Z"),
            "updated_at": fields.pop("updated_at", "2026-01-05T10:04:00Z"),
            "run_started_at": fields.pop("run_started_at", "2026-01-05T10:00:00Z"),
            "actor": {"login": fields.pop("actor", "octocat"), "id": 1, "type": "User"},
            "repository": {"id": repo.id, "name": repo.name, "full_name": repo.full_name},
            **fields,
        }
        repo.runs.insert(0, run)
        return run

    def add_job(self, full_name: str, run_id: int, name: str, **fields: Any) -> dict[str, Any]:
        repo = self.repos[full_name.lower()]
        job_id = next(_ids)
        job = {
            "id": job_id,
            "run_id": run_id,
            "run_attempt": fields.pop("run_attempt", 1),
            "name": name,
            "status": fields.pop("status", "completed"),
            "conclusion": fields.pop("conclusion", "success"),
            "started_at": fields.pop("started_at", "2026-01-05T10:01:00Z"),
            "completed_at": fields.pop("completed_at", "2026-01-05T10:02:30Z"),
            "head_sha": fields.pop("head_sha", ""),
            "url": f"{self.url}/repos/{repo.full_name}/actions/jobs/{job_id}",
            "html_url": f"https://github.com/{repo.full_name}/actions/runs/{run_id}/job/{job_id}",
            **fields,
        }
        repo.jobs.setdefault(run_id, []).append(job)
        return job

    def requests_to(self, method: str, path_pattern: str) -> list[dict[str, Any]]:
        """Recorded requests whose path matches a regular expression."""
        return [
            r for r in self.requests if r["method"] == method and re.search(path_pattern, r["path"])
        ]

    def file(self, full_name: str, branch: str, path: str) -> str | None:
        entry = self.repos[full_name.lower()].files.get((branch, path))
        return entry["content"] if entry else None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, port: int) -> str:
        fake = self

        class Handler(_Handler):
            github = fake

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    github: FakeGitHub
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --- plumbing --------------------------------------------------------------------------

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-GitHub-Request-Id", _sha(str(time.time()))[:16].upper())
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, **extra: Any) -> None:
        self._send(status, {"message": message, "documentation_url": DOCS, **extra})

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            self._error(400, "Problems parsing JSON")
            return
        gh = self.github
        with gh.lock:
            auth = self.headers.get("Authorization", "")
            gh.requests.append(
                {"method": method, "path": path, "query": query, "body": body, "auth": auth}
            )
            if self._injected_failure(method, path):
                return
            if not self.headers.get("Authorization"):
                self._error(401, "Requires authentication")
                return
            from .github_routes import ROUTES

            for pattern, verb, handler in ROUTES:
                match = re.fullmatch(pattern, path)
                if match and verb == method:
                    handler(self, query, body, **match.groupdict())
                    return
            self._error(404, "Not Found")

    def _injected_failure(self, method: str, path: str) -> bool:
        gh = self.github
        for failure in list(gh.failures):
            if failure.method and failure.method != method:
                continue
            if failure.path_contains and failure.path_contains not in path:
                continue
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    gh.failures.remove(failure)
            if failure.status == -1:
                self._send(
                    403,
                    {
                        "message": "API rate limit exceeded for installation ID 1.",
                        "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
                    },
                    {
                        "X-RateLimit-Limit": "5000",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Used": "5000",
                        "X-RateLimit-Reset": str(gh.rate_limit_reset),
                        "X-RateLimit-Resource": "core",
                    },
                )
            elif failure.status == 403:
                self._error(403, "Resource not accessible by personal access token")
            elif failure.status == 404:
                self._error(404, "Not Found")
            elif failure.status == 422:
                self._error(
                    422,
                    "Validation Failed",
                    errors=[{"resource": "Repository", "code": "custom", "message": "invalid"}],
                )
            else:
                self._error(failure.status, "Server Error")
            return True
        return False

    def _repo(self, owner: str, repo: str) -> Repo | None:
        found = self.github.repos.get(f"{owner}/{repo}".lower())
        if found is None:
            self._error(404, "Not Found")
        return found

    # --- representations --------------------------------------------------------------------

    def _repo_json(self, r: Repo) -> dict[str, Any]:
        base = self.github.url
        return {
            "id": r.id,
            "node_id": f"R_{r.id}",
            "name": r.name,
            "full_name": r.full_name,
            "owner": {"login": r.owner, "id": 1, "type": "Organization"},
            "private": True,
            "html_url": f"https://github.com/{r.full_name}",
            "url": f"{base}/repos/{r.full_name}",
            "default_branch": r.default_branch,
            "permissions": {"admin": True, "push": True, "pull": True},
        }

    def _ref_json(self, r: Repo, ref: str) -> dict[str, Any]:
        base = self.github.url
        sha = r.refs[ref]
        return {
            "ref": f"refs/{ref}",
            "node_id": f"REF_{_sha(ref)[:8]}",
            "url": f"{base}/repos/{r.full_name}/git/refs/{ref}",
            "object": {
                "type": "commit",
                "sha": sha,
                "url": f"{base}/repos/{r.full_name}/git/commits/{sha}",
            },
        }

    def _content_json(
        self, r: Repo, path: str, entry: dict[str, str], branch: str
    ) -> dict[str, Any]:
        base = self.github.url
        return {
            "type": "file",
            "encoding": "base64",
            "size": len(entry["content"].encode()),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": base64.b64encode(entry["content"].encode()).decode(),
            "sha": entry["sha"],
            "url": f"{base}/repos/{r.full_name}/contents/{path}?ref={branch}",
            "html_url": f"https://github.com/{r.full_name}/blob/{branch}/{path}",
            "git_url": f"{base}/repos/{r.full_name}/git/blobs/{entry['sha']}",
            "download_url": f"https://raw.githubusercontent.com/{r.full_name}/{branch}/{path}",
        }

    def _env_json(self, r: Repo, name: str) -> dict[str, Any]:
        env = r.environments[name]
        rules = []
        if env["reviewers"]:
            rules.append(
                {
                    "id": next(_ids),
                    "type": "required_reviewers",
                    "prevent_self_review": env["prevent_self_review"],
                    "reviewers": [
                        {"type": rv["type"], "reviewer": {"id": rv["id"], "login": rv["login"]}}
                        for rv in env["reviewers"]
                    ],
                }
            )
        return {
            "id": env["id"],
            "node_id": f"EN_{env['id']}",
            "name": name,
            "url": f"{self.github.url}/repos/{r.full_name}/environments/{name}",
            "html_url": f"https://github.com/{r.full_name}/deployments/activity_log?environments_filter={name}",
            "created_at": env["created_at"],
            "updated_at": _now(),
            "protection_rules": rules,
            "deployment_branch_policy": env["deployment_branch_policy"],
        }
