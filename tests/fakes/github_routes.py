"""The endpoints of the GitHub-shaped server, one function each, and the route table."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

from .github import Repo, _Handler, _ids, _now, _sha

# --- endpoints ---------------------------------------------------------------------------------

R = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"


def get_repo(h: _Handler, q: dict, body: Any, owner: str, repo: str) -> None:
    if (r := h._repo(owner, repo)) is not None:
        h._send(200, h._repo_json(r))


def get_ref(h: _Handler, q: dict, body: Any, owner: str, repo: str, ref: str) -> None:
    if (r := h._repo(owner, repo)) is None:
        return
    if ref not in r.refs:
        h._error(404, "Not Found")
        return
    h._send(200, h._ref_json(r, ref))


def create_ref(h: _Handler, q: dict, body: Any, owner: str, repo: str) -> None:
    if (r := h._repo(owner, repo)) is None:
        return
    ref = str((body or {}).get("ref", ""))
    sha = (body or {}).get("sha")
    if not ref.startswith("refs/") or ref.count("/") < 2 or not sha:
        h._error(422, "Reference update failed")
        return
    if ref[5:] in r.refs:
        h._error(422, "Reference already exists")
        return
    r.refs[ref[5:]] = sha
    h._send(201, h._ref_json(r, ref[5:]))


def get_contents(h: _Handler, q: dict, body: Any, owner: str, repo: str, path: str) -> None:
    if (r := h._repo(owner, repo)) is None:
        return
    branch = q.get("ref", r.default_branch)
    entry = r.files.get((branch, path))
    if entry is None:
        h._error(404, "Not Found")
        return
    h._send(200, h._content_json(r, path, entry, branch))


def put_contents(h: _Handler, q: dict, body: Any, owner: str, repo: str, path: str) -> None:
    if (r := h._repo(owner, repo)) is None:
        return
    body = body or {}
    branch = body.get("branch", r.default_branch)
    if not body.get("message") or "content" not in body:
        h._error(422, 'Invalid request.\n\n"message" and "content" are required.')
        return
    if f"heads/{branch}" not in r.refs:
        h._error(404, f"Branch {branch} not found")
        return
    existing = r.files.get((branch, path))
    if existing is not None and not body.get("sha"):
        h._error(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        return
    if existing is not None and body["sha"] != existing["sha"]:
        h._error(409, f"{path} does not match {body['sha']}")
        return
    try:
        content = base64.b64decode(body["content"]).decode()
    except (ValueError, UnicodeDecodeError):
        h._error(422, "content is not valid Base64")
        return
    entry = {"content": content, "sha": _sha("blob", content)}
    r.files[(branch, path)] = entry
    commit_sha = _sha("commit", r.refs[f"heads/{branch}"], path, content)
    r.refs[f"heads/{branch}"] = commit_sha
    base = h.github.url
    h._send(
        200 if existing is not None else 201,
        {
            "content": h._content_json(r, path, entry, branch),
            "commit": {
                "sha": commit_sha,
                "node_id": f"C_{commit_sha[:8]}",
                "url": f"{base}/repos/{r.full_name}/git/commits/{commit_sha}",
                "html_url": f"https://github.com/{r.full_name}/commit/{commit_sha}",
                "message": body["message"],
            },
        },
    )


def _pull_json(h: _Handler, r: Repo, pr: dict[str, Any]) -> dict[str, Any]:
    return {
        **pr,
        "url": f"{h.github.url}/repos/{r.full_name}/pulls/{pr['number']}",
        "html_url": f"https://github.com/{r.full_name}/pull/{pr['number']}",
        "head": {
            "ref": pr["head_ref"],
            "label": f"{r.owner}:{pr['head_ref']}",
            "sha": r.refs.get(f"heads/{pr['head_ref']}", ""),
        },
        "base": {"ref": pr["base_ref"], "label": f"{r.owner}:{pr['base_ref']}"},
    }


def list_pulls(h: _Handler, q: dict, body: Any, owner: str, repo: str) -> None:
    if (r := h._repo(owner, repo)) is None:
        return
    state = q.get("state", "open")
    head = q.get("head", "")
    found = [
        _pull_json(h, r, pr)
        for pr in r.pulls
        if (state == "all" or pr["state"] == state)
        and (not head or head == f"{r.owner}:{pr['head_ref']}")
        and (not q.get("base") or q["base"] == pr["base_ref"])
    ]
    h._send(200, found)


def create_pull(h: _Handler, q: dict, body: Any, owner: str, repo: str) -> None:
    if (r := h._repo(owner, repo)) is None:
        return
    body = body or {}
    head, base = body.get("head", ""), body.get("base", "")
    head_ref = head.split(":", 1)[-1]
    if not body.get("title") or f"heads/{head_ref}" not in r.refs or f"heads/{base}" not in r.refs:
        h._error(
            422,
            "Validation Failed",
            errors=[{"resource": "PullRequest", "field": "head", "code": "invalid"}],
        )
        return
    if any(pr["state"] == "open" and pr["head_ref"] == head_ref for pr in r.pulls):
        h._error(
            422,
            "Validation Failed",
            errors=[
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"A pull request already exists for {r.owner}:{head_ref}.",
                }
            ],
        )
        return
    pr = {
        "id": next(_ids),
        "number": len(r.pulls) + 1,
        "state": "open",
        "title": body["title"],
        "body": body.get("body", ""),
        "head_ref": head_ref,
        "base_ref": base,
        "merged": False,
        "draft": bool(body.get("draft", False)),
        "created_at": _now(),
        "updated_at": _now(),
        "user": {"login": "idp-bot", "id": 2},
    }
    r.pulls.append(pr)
    h._send(201, _pull_json(h, r, pr))


def update_pull(h: _Handler, q: dict, body: Any, owner: str, repo: str, number: str) -> None:
    if (r := h._repo(owner, repo)) is None:
        return
    pr = next((p for p in r.pulls if p["number"] == int(number)), None)
    if pr is None:
        h._error(404, "Not Found")
        return
    for key in ("title", "body", "state"):
        if key in (body or {}):
            pr[key] = body[key]
    pr["updated_at"] = _now()
    h._send(200, _pull_json(h, r, pr))


def create_installation_token(h: _Handler, q: dict, body: Any, installation: str) -> None:
    # Apps authenticate with a JWT (three dot-separated parts) to get an installation token.
    auth = h.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or auth[7:].count(".") != 2:
        h._error(401, "A JSON web token could not be decoded")
        return
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    h._send(
        201,
        {
            "token": f"ghs_installation{installation}",
            "expires_at": expires,
            "permissions": {
                "contents": "write",
                "pull_requests": "write",
                "administration": "write",
                "workflows": "write",
            },
            "repository_selection": "all",
        },
    )


def get_user(h: _Handler, q: dict, body: Any, login: str) -> None:
    user_id = h.github.users.get(login.lower())
    if user_id is None:
        h._error(404, "Not Found")
        return
    h._send(
        200, {"login": login, "id": user_id, "type": "User", "url": f"{h.github.url}/users/{login}"}
    )


def put_environment(h: _Handler, q: dict, body: Any, owner: str, repo: str, env: str) -> None:
    if (r := h._repo(owner, repo)) is None:
        return
    body = body or {}
    reviewers = []
    for reviewer in body.get("reviewers") or []:
        login = next((k for k, v in h.github.users.items() if v == reviewer.get("id")), None)
        if reviewer.get("type") not in ("User", "Team") or login is None:
            h._error(
                422,
                "Validation Failed",
                errors=[{"resource": "Environment", "field": "reviewers", "code": "invalid"}],
            )
            return
        reviewers.append({"type": reviewer["type"], "id": reviewer["id"], "login": login})
    if len(reviewers) > 6:
        h._error(422, "Validation Failed")
        return
    existing = r.environments.get(env)
    r.environments[env] = {
        "id": existing["id"] if existing else next(_ids),
        "created_at": existing["created_at"] if existing else _now(),
        "variables": existing["variables"] if existing else {},
        "reviewers": reviewers,
        "prevent_self_review": bool(body.get("prevent_self_review", False)),
        "wait_timer": int(body.get("wait_timer") or 0),
        "deployment_branch_policy": body.get("deployment_branch_policy"),
    }
    h._send(200, h._env_json(r, env))


def get_environment(h: _Handler, q: dict, body: Any, owner: str, repo: str, env: str) -> None:
    if (r := h._repo(owner, repo)) is None:
        return
    if env not in r.environments:
        h._error(404, "Not Found")
        return
    h._send(200, h._env_json(r, env))


def _env(h: _Handler, owner: str, repo: str, env: str) -> dict[str, Any] | None:
    r = h._repo(owner, repo)
    if r is None:
        return None
    if env not in r.environments:
        h._error(404, "Not Found")
        return None
    return r.environments[env]


def _var_json(name: str, v: dict[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "value": v["value"],
        "created_at": v["created_at"],
        "updated_at": v["updated_at"],
    }


def list_env_variables(h: _Handler, q: dict, body: Any, owner: str, repo: str, env: str) -> None:
    if (e := _env(h, owner, repo, env)) is None:
        return
    items = [_var_json(n, v) for n, v in sorted(e["variables"].items())]
    h._send(200, {"total_count": len(items), "variables": items})


def create_env_variable(h: _Handler, q: dict, body: Any, owner: str, repo: str, env: str) -> None:
    if (e := _env(h, owner, repo, env)) is None:
        return
    name = str((body or {}).get("name", "")).upper()
    if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name) or "value" not in (body or {}):
        h._error(422, "Validation Failed")
        return
    if name in e["variables"]:
        h._error(409, "Already exists - Variable already exists")
        return
    e["variables"][name] = {"value": str(body["value"]), "created_at": _now(), "updated_at": _now()}
    h._send(201, {})


def get_env_variable(
    h: _Handler, q: dict, body: Any, owner: str, repo: str, env: str, name: str
) -> None:
    if (e := _env(h, owner, repo, env)) is None:
        return
    v = e["variables"].get(name.upper())
    if v is None:
        h._error(404, "Not Found")
        return
    h._send(200, _var_json(name.upper(), v))


def update_env_variable(
    h: _Handler, q: dict, body: Any, owner: str, repo: str, env: str, name: str
) -> None:
    if (e := _env(h, owner, repo, env)) is None:
        return
    v = e["variables"].get(name.upper())
    if v is None:
        h._error(404, "Not Found")
        return
    v["value"] = str((body or {}).get("value", v["value"]))
    v["updated_at"] = _now()
    h._send(204)


def list_runs(h: _Handler, q: dict, body: Any, owner: str, repo: str) -> None:
    if (r := h._repo(owner, repo)) is None:
        return
    runs = [
        run
        for run in r.runs
        if (not q.get("branch") or run["head_branch"] == q["branch"])
        and all(not q.get(k) or str(run.get(k)) == q[k] for k in ("event", "status", "head_sha"))
    ]
    h._send(200, {"total_count": len(runs), "workflow_runs": runs})


def list_jobs(h: _Handler, q: dict, body: Any, owner: str, repo: str, run_id: str) -> None:
    if (r := h._repo(owner, repo)) is None:
        return
    jobs = r.jobs.get(int(run_id), [])
    h._send(200, {"total_count": len(jobs), "jobs": jobs})


def get_org(h: _Handler, q: dict, body: Any, org: str) -> None:
    owners = {r.owner.lower(): r.owner for r in h.github.repos.values()}
    if org.lower() not in owners:
        h._error(404, "Not Found")
        return
    login = owners[org.lower()]
    h._send(
        200,
        {
            "login": login,
            "id": 1,
            "type": "Organization",
            "url": f"{h.github.url}/orgs/{login}",
            "repos_url": f"{h.github.url}/orgs/{login}/repos",
        },
    )


def list_org_repos(h: _Handler, q: dict, body: Any, org: str) -> None:
    """One page of the organisation's repositories (pages of `per_page`, Link header)."""
    repos = sorted(
        (r for r in h.github.repos.values() if r.owner.lower() == org.lower()),
        key=lambda r: r.full_name,
    )
    if not repos:
        h._error(404, "Not Found")
        return
    per_page = max(1, min(int(q.get("per_page", 30)), 100))
    page = max(1, int(q.get("page", 1)))
    chunk = repos[(page - 1) * per_page : page * per_page]
    headers = {}
    if page * per_page < len(repos):
        url = f"{h.github.url}/orgs/{org}/repos?per_page={per_page}&page={page + 1}"
        headers["Link"] = f'<{url}>; rel="next"'
    h._send(200, [h._repo_json(r) for r in chunk], headers)


ROUTES: list[tuple[str, str, Any]] = [
    (R, "GET", get_repo),
    (R + r"/git/ref/(?P<ref>.+)", "GET", get_ref),
    (R + r"/git/refs", "POST", create_ref),
    (R + r"/contents/(?P<path>.+)", "GET", get_contents),
    (R + r"/contents/(?P<path>.+)", "PUT", put_contents),
    (R + r"/pulls", "GET", list_pulls),
    (R + r"/pulls", "POST", create_pull),
    (R + r"/pulls/(?P<number>\d+)", "PATCH", update_pull),
    (r"/users/(?P<login>[^/]+)", "GET", get_user),
    (r"/app/installations/(?P<installation>\d+)/access_tokens", "POST", create_installation_token),
    (R + r"/environments/(?P<env>[^/]+)", "PUT", put_environment),
    (R + r"/environments/(?P<env>[^/]+)", "GET", get_environment),
    (R + r"/environments/(?P<env>[^/]+)/variables", "GET", list_env_variables),
    (R + r"/environments/(?P<env>[^/]+)/variables", "POST", create_env_variable),
    (R + r"/environments/(?P<env>[^/]+)/variables/(?P<name>[^/]+)", "GET", get_env_variable),
    (R + r"/environments/(?P<env>[^/]+)/variables/(?P<name>[^/]+)", "PATCH", update_env_variable),
    (R + r"/actions/runs", "GET", list_runs),
    (R + r"/actions/runs/(?P<run_id>\d+)/jobs", "GET", list_jobs),
    (r"/orgs/(?P<org>[^/]+)", "GET", get_org),
    (r"/orgs/(?P<org>[^/]+)/repos", "GET", list_org_repos),
]
