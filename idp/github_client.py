"""The GitHub side of pipelines, through PyGithub: delivery as a pull request, and runs.

Every PyGithub error is turned into a GitHubError with a message a developer can act on,
and a flag saying whether trying again later may help (the Celery task retries those).
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from github import Auth, Github, GithubException, RateLimitExceededException
from github.EnvironmentProtectionRuleReviewer import ReviewerParams
from github.WorkflowJob import WorkflowJob
from github.WorkflowRun import WorkflowRun
from requests.exceptions import RequestException

from idp.conf import setting

# GitHub repository names: owner and repo, with an optional .git suffix on the URL.
_REPO_PATH = re.compile(
    r"^/?(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<name>[A-Za-z0-9._-]{1,100}?)(?:\.git)?/?$"
)


class GitHubError(Exception):
    """GitHub refused or failed; `transient` errors are worth retrying, after `retry_after` s."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        transient: bool = False,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.transient = transient
        self.retry_after = retry_after


def parse_repository(url: str) -> str:
    """`owner/name` from a service repository URL (https, or git@host:owner/name.git)."""
    url = (url or "").strip()
    if url.startswith("git@") and ":" in url:
        path = "/" + url.split(":", 1)[1]
    else:
        path = urlsplit(url).path if "://" in url else ""
    match = _REPO_PATH.match(path)
    if not match:
        raise ValueError(f"Cannot read a GitHub owner/name from repository URL {url!r}")
    return f"{match['owner']}/{match['name']}"


def configured() -> bool:
    """Whether delivery can reach GitHub at all: a token or complete GitHub App settings."""
    app = settings.GITHUB_APP_ID and settings.GITHUB_APP_PRIVATE_KEY
    return bool(settings.GITHUB_TOKEN or (app and settings.GITHUB_APP_INSTALLATION_ID))


NOT_CONFIGURED = (
    "GitHub is not configured: set GITHUB_API_URL and GITHUB_TOKEN (or the GitHub App "
    "settings) to deliver pipelines as pull requests. You can still create the pipeline "
    "and copy or download its workflow."
)


def client() -> Github:
    """A PyGithub client for the configured GitHub (or GitHub Enterprise) API.

    Retries are ours (in the Celery task), so PyGithub must not sleep through rate limits.
    """
    app_id = settings.GITHUB_APP_ID
    key = settings.GITHUB_APP_PRIVATE_KEY
    installation = settings.GITHUB_APP_INSTALLATION_ID
    auth: Auth.Auth
    if app_id and key and installation:
        auth = Auth.AppAuth(app_id, key).get_installation_auth(int(installation))
    elif settings.GITHUB_TOKEN:
        auth = Auth.Token(settings.GITHUB_TOKEN)
    else:
        raise GitHubError("GitHub is not configured: set GITHUB_TOKEN or the GitHub App settings.")
    pacing = setting("IDP_GITHUB_WRITE_PACING")
    return Github(
        base_url=settings.GITHUB_API_URL.rstrip("/"),
        auth=auth,
        retry=None,
        timeout=setting("IDP_GITHUB_TIMEOUT"),
        seconds_between_requests=None,
        seconds_between_writes=pacing or None,
    )


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    text = str(data.get("message") or exc.message or "").strip()
    details = [
        e.get("message") or f"{e.get('field', '')} {e.get('code', '')}".strip()
        for e in data.get("errors") or []
        if isinstance(e, dict)
    ]
    return "; ".join([text, *[d for d in details if d]]) if details else text


def translate(exc: Exception, *, repository: str, action: str) -> GitHubError:
    """A readable GitHubError for a PyGithub / HTTP failure while doing `action`."""
    if isinstance(exc, GitHubError):
        return exc
    if isinstance(exc, RequestException):
        return GitHubError(
            f"Could not reach GitHub while {action}: {exc.__class__.__name__}", transient=True
        )
    if not isinstance(exc, GithubException):
        raise exc
    status = exc.status
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    if isinstance(exc, RateLimitExceededException) or (
        status in (403, 429) and headers.get("x-ratelimit-remaining") == "0"
    ):
        reset = int(headers.get("x-ratelimit-reset") or 0)
        wait = max(int(headers.get("retry-after") or 0), reset - int(time.time()), 1)
        at = datetime.fromtimestamp(reset or time.time() + wait, tz=UTC).strftime("%H:%M:%S UTC")
        return GitHubError(
            f"GitHub rate limit exceeded while {action}; it resets at {at}.",
            status=status,
            transient=True,
            retry_after=wait,
        )
    detail = _message(exc)
    if status == 401:
        return GitHubError(
            "GitHub rejected the platform's credentials (401 Bad credentials).", status=status
        )
    if status == 403:
        return GitHubError(
            f"GitHub refused {action} on {repository} (403: {detail}). The platform's token or "
            "GitHub App needs the repo, workflow and administration (environments) permissions.",
            status=status,
        )
    if status == 404:
        return GitHubError(
            f"Repository {repository} was not found on GitHub, or the platform has no access to "
            f"it (404 while {action}).",
            status=status,
        )
    if status == 422:
        return GitHubError(
            f"GitHub rejected {action} on {repository} (422: {detail}).", status=status
        )
    if status is not None and status >= 500:
        return GitHubError(
            f"GitHub failed while {action} ({status}); will retry.", status=status, transient=True
        )
    return GitHubError(f"GitHub answered {status} while {action}: {detail}", status=status)


@dataclass
class Delivery:
    """What a delivery left behind on GitHub."""

    pr_number: int
    pr_url: str
    commit_sha: str
    created_pr: bool


@dataclass
class EnvironmentSpec:
    """One GitHub environment to create: its reviewers and variables."""

    name: str
    reviewers: list[str]
    variables: dict[str, str]


class GitHubDelivery:
    """The steps that put a pipeline into its repository; each step is idempotent."""

    def __init__(self, repository: str, gh: Github | None = None):
        self.repository = repository
        self.gh = gh or client()
        self.action = "reading the repository"

    def _step(self, action: str) -> None:
        self.action = action

    def run(
        self,
        *,
        branch: str,
        path: str,
        content: str,
        message: str,
        pr_title: str,
        pr_body: str,
        environments: list[EnvironmentSpec],
    ) -> Delivery:
        """Branch, commit, pull request, environments; the same branch and PR on a re-run."""
        try:
            return self._run(branch, path, content, message, pr_title, pr_body, environments)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a readable GitHubError
            raise translate(exc, repository=self.repository, action=self.action) from exc

    def _run(
        self,
        branch: str,
        path: str,
        content: str,
        message: str,
        pr_title: str,
        pr_body: str,
        environments: list[EnvironmentSpec],
    ) -> Delivery:
        self._step("reading the repository")
        repo = self.gh.get_repo(self.repository)
        base = repo.default_branch
        self._step(f"creating branch {branch}")
        try:
            repo.get_git_ref(f"heads/{branch}")
        except GithubException as exc:
            if exc.status != 404:
                raise
            base_sha = repo.get_git_ref(f"heads/{base}").object.sha
            repo.create_git_ref(f"refs/heads/{branch}", base_sha)
        self._step(f"committing {path}")
        commit_sha = self._commit(repo, branch, path, content, message)
        self._step("opening the pull request")
        owner = self.repository.split("/")[0]
        existing = list(repo.get_pulls(state="open", head=f"{owner}:{branch}", base=base))
        if existing:
            pr, created = existing[0], False
        else:
            pr = repo.create_pull(base=base, head=branch, title=pr_title, body=pr_body)
            created = True
        for spec in environments:
            self._environment(repo, spec)
        return Delivery(
            pr_number=pr.number, pr_url=pr.html_url, commit_sha=commit_sha, created_pr=created
        )

    def _commit(self, repo: Any, branch: str, path: str, content: str, message: str) -> str:
        try:
            current = repo.get_contents(path, ref=branch)
        except GithubException as exc:
            if exc.status != 404:
                raise
            result = repo.create_file(path, message, content, branch=branch)
            return str(result["commit"].sha)
        if current.decoded_content.decode() == content:
            return str(repo.get_git_ref(f"heads/{branch}").object.sha)
        result = repo.update_file(path, message, content, current.sha, branch=branch)
        return str(result["commit"].sha)

    def _environment(self, repo: Any, spec: EnvironmentSpec) -> None:
        self._step(f"resolving reviewers for environment {spec.name}")
        reviewers = []
        for login in spec.reviewers:
            try:
                reviewers.append(ReviewerParams("User", self.gh.get_user(login).id))
            except GithubException as exc:
                if exc.status == 404:
                    raise GitHubError(
                        f"Reviewer {login!r} for environment {spec.name} is not a GitHub user.",
                        status=404,
                    ) from exc
                raise
        self._step(f"creating environment {spec.name}")
        environment = repo.create_environment(spec.name, reviewers=reviewers)
        self._step(f"setting variables of environment {spec.name}")
        current = {v.name: v for v in environment.get_variables()}
        for name, value in spec.variables.items():
            if name not in current:
                environment.create_variable(name, value)
            elif current[name].value != value:
                current[name].edit(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _run_dict(run: WorkflowRun) -> dict[str, Any]:
    # Attributes of the listed object: raw_data would fetch every run again.
    return {
        "id": run.id,
        "path": run.path,
        "run_number": run.run_number,
        "run_attempt": run.run_attempt,
        "event": run.event,
        "status": run.status,
        "conclusion": run.conclusion,
        "head_branch": run.head_branch,
        "head_sha": run.head_sha,
        "html_url": run.html_url,
        "actor": {"login": run.actor.login if run.actor else ""},
        "created_at": _iso(run.created_at),
        "updated_at": _iso(run.updated_at),
        "run_started_at": _iso(run.run_started_at),
    }


def _job_dict(job: WorkflowJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "run_id": job.run_id,
        "run_attempt": job.run_attempt,
        "name": job.name,
        "status": job.status,
        "conclusion": job.conclusion,
        "head_sha": job.head_sha,
        "html_url": job.html_url,
        "started_at": _iso(job.started_at),
        "completed_at": _iso(job.completed_at),
    }


def list_runs(
    repository: str, workflow_path: str, *, gh: Github | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Recent runs of one workflow with their jobs, as dicts shaped like webhook payloads."""
    gh = gh or client()
    try:
        repo = gh.get_repo(repository)
        runs: list[dict[str, Any]] = []
        # islice, not a slice: PyGithub types a slice of its list as the item type.
        for run in itertools.islice(repo.get_workflow_runs(), limit * 3):
            if run.path.split("@", 1)[0] != workflow_path:
                continue
            runs.append({"run": _run_dict(run), "jobs": [_job_dict(j) for j in run.jobs()]})
            if len(runs) >= limit:
                break
        return runs
    except Exception as exc:  # noqa: BLE001 - every failure becomes a readable GitHubError
        raise translate(exc, repository=repository, action="listing workflow runs") from exc
