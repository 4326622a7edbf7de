"""Where an authenticated API request spends its time before it reads a row.

`python -m benchmarks.profile_request [-n 2000] [--migrate] [--cprofile]`

Issues `n` in-process GET requests through Django's real WSGI handler (the one gunicorn
calls: request signals, the whole middleware stack, DRF) against

- the ceiling view (`/bench/ceiling`: middleware only, no database),
- `/api/v1/me/` and `/api/v1/resources/?page_size=1` with a personal API token (Bearer),
- the same two with a session cookie,

for a user who is a member of one team and owns no resources, and reports for each:

1. the mean time per request, uninstrumented, and the CPU time of this thread per request
   (on a busy machine the wall time also holds waiting for PostgreSQL, Redis and the CPU);
2. a breakdown by stage (each middleware, token authentication, permissions and scopes,
   throttling, content negotiation, pagination, rendering, django-guardian, the session,
   logging and audit), measured by wrapping those functions with a timer for a second run.
   Each stage's time is exclusive (a nested stage's time is its own, not its caller's),
   SQL and cache calls count where they are issued, so the stages add up to the request;
3. optionally (`--cprofile`) cProfile's top functions by cumulative time.

The database and cache are the benchmark's own (benchmarks.environment), named by
IDP_BENCH_DB (default here `idp_prof`) and IDP_BENCH_CACHE_URL; `--migrate` migrates it.
Grants are cached by user id: give it a Redis db of its own (IDP_BENCH_CACHE_URL) when the
benchmark's database is another one. The user, its team and membership are reused; each
run makes one new API token.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

PROFILE_USERNAME = "profile-request-user"
PROFILE_TEAM = "profile-request-team"
TOKEN_NAME = "profile-request"
CEILING = "/bench/ceiling"
ME = "/api/v1/me/"
RESOURCES = "/api/v1/resources/?page_size=1"
OTHER = "(other: WSGI handler, request signals, URL resolving, view body)"


@dataclass
class Scenario:
    key: str
    path: str
    auth: str  # "none", "token" or "session"


SCENARIOS = (
    Scenario("ceiling", CEILING, "none"),
    Scenario("token_me", ME, "token"),
    Scenario("token_resources", RESOURCES, "token"),
    Scenario("session_me", ME, "session"),
    Scenario("session_resources", RESOURCES, "session"),
)


@dataclass
class StageRow:
    stage: str
    ms: float  # per request
    cpu_ms: float  # per request, this thread's CPU (the rest is waiting: I/O, other processes)
    share: float  # of the instrumented request's total
    queries: float  # per request
    cache_calls: float  # per request


@dataclass
class ScenarioResult:
    key: str
    path: str
    auth: str
    status: int
    mean_ms: float
    median_ms: float
    cpu_ms: float
    queries: int
    sql: list[str]
    instrumented_ms: float = 0.0
    sql_ms: float = 0.0
    cache_ms: float = 0.0
    stages: list[StageRow] = field(default_factory=list)
    cprofile: str = ""


# --- Stage timer -----------------------------------------------------------------------


class Stages:
    """A stack of named stages; time goes to the innermost open one (exclusive time)."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.queries: Counter[str] = Counter()
        self.cache_calls: Counter[str] = Counter()
        self.sql_seconds = 0.0
        self.cache_seconds = 0.0
        self.stack = [OTHER]
        self.mark = time.perf_counter()
        self.cpu_mark = time.thread_time()
        self._in_cache = False
        self.recorded: list[str] | None = None

    def _account(self, name: str) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.totals[name] += now - self.mark
        self.cpu[name] += cpu - self.cpu_mark
        self.mark, self.cpu_mark = now, cpu

    def push(self, name: str) -> None:
        self._account(self.stack[-1])
        self.stack.append(name)

    def pop(self) -> None:
        self._account(self.stack.pop())

    def restart(self) -> None:
        """Start a request: time outside requests is not counted."""
        self.stack = [OTHER]
        self.mark, self.cpu_mark = time.perf_counter(), time.thread_time()

    def finish(self) -> None:
        self._account(self.stack[-1])

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def staged(*args: Any, **kwargs: Any) -> Any:
            self.push(name)
            try:
                return fn(*args, **kwargs)
            finally:
                self.pop()

        staged.__wrapped__ = fn  # type: ignore[attr-defined]
        return staged

    def sql(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any) -> Any:
        self.queries[self.stack[-1]] += 1
        if self.recorded is not None:
            self.recorded.append(f"[{self.stack[-1]}] {sql}")
        started = time.perf_counter()
        try:
            return execute(sql, params, many, ctx)
        finally:
            self.sql_seconds += time.perf_counter() - started

    def cached(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            if self._in_cache:
                return fn(*args, **kwargs)
            self._in_cache = True
            self.cache_calls[self.stack[-1]] += 1
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cache_seconds += time.perf_counter() - started
                self._in_cache = False

        return counted


class Patches:
    """setattr that remembers what it replaced, and puts it back."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any, bool]] = []

    def set(self, owner: Any, attr: str, value: Any) -> None:
        had = attr in vars(owner) if isinstance(owner, type) else hasattr(owner, attr)
        self._undo.append((owner, attr, getattr(owner, attr, None), had))
        setattr(owner, attr, value)

    def undo(self) -> None:
        for owner, attr, old, had in reversed(self._undo):
            if had:
                setattr(owner, attr, old)
            else:
                delattr(owner, attr)
        self._undo.clear()


def _stage_targets() -> list[tuple[str, Any, str]]:
    """(stage, owner, attribute): the functions each stage is made of."""
    import django.contrib.auth
    import guardian.core
    import guardian.shortcuts
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authentication import SessionAuthentication
    from rest_framework.mixins import ListModelMixin
    from rest_framework.renderers import JSONRenderer
    from rest_framework.serializers import ListSerializer, Serializer
    from rest_framework.views import APIView

    import idp.api.authentication as bearer
    import idp.audit
    import idp.rbac
    import idp.services
    from idp.api.pagination import StandardPagination
    from idp.api.views import MeView
    from provisioning.api.views import ResourceViewSet

    return [
        ("session: load the session row", SessionStore, "load"),
        ("session: auth.get_user (user row)", django.contrib.auth, "get_user"),
        ("DRF: initialize_request", APIView, "initialize_request"),
        ("DRF: dispatch (other)", APIView, "dispatch"),
        ("DRF: initial (other)", APIView, "initial"),
        ("DRF: content negotiation", APIView, "perform_content_negotiation"),
        ("DRF: perform_authentication (other)", APIView, "perform_authentication"),
        ("token auth: BearerAuthentication (other)", bearer.BearerAuthentication, "authenticate"),
        ("token auth: lookup + last-used", bearer, "authenticate_api_token"),
        ("token auth: sha256", idp.services, "hash_token"),
        ("token auth: narrow_to_token", bearer, "narrow_to_token"),
        ("session auth: DRF SessionAuthentication (+CSRF)", SessionAuthentication, "authenticate"),
        ("permissions + token scopes", APIView, "check_permissions"),
        ("throttling", APIView, "check_throttles"),
        ("rbac grants (_grants: cache, DB)", idp.rbac, "_grants"),
        ("django-guardian", guardian.shortcuts, "get_objects_for_user"),
        ("django-guardian", guardian.core.ObjectPermissionChecker, "has_perm"),
        ("view: MeView.get", MeView, "get"),
        ("view: list()", ListModelMixin, "list"),
        ("view: get_queryset (for_user)", ResourceViewSet, "get_queryset"),
        ("view: filter_queryset (filter backends)", ResourceViewSet, "filter_queryset"),
        ("pagination: paginate_queryset (count + page)", StandardPagination, "paginate_queryset"),
        ("pagination: get_paginated_response", StandardPagination, "get_paginated_response"),
        ("serialization", Serializer, "to_representation"),
        ("serialization", ListSerializer, "to_representation"),
        ("DRF: finalize_response", APIView, "finalize_response"),
        ("rendering: JSONRenderer", JSONRenderer, "render"),
        ("audit", idp.audit, "record"),
    ]


def _middleware_names(chain: Any) -> Iterator[tuple[Any, str]]:
    """Each middleware instance of a loaded handler chain, outermost first."""
    current = chain
    while True:
        instance = getattr(current, "__wrapped__", None)
        if instance is None or not hasattr(instance, "get_response"):
            return
        yield instance, f"middleware: {type(instance).__name__}"
        current = instance.get_response


@contextmanager
def instrumented(stages: Stages, handler: Any) -> Iterator[None]:
    """Wrap the stage functions, the middleware chain, SQL and the cache with `stages`."""
    import logging

    from django.core.cache import caches
    from django.db import connection, connections

    patches = Patches()
    for stage, owner, attr in _stage_targets():
        patches.set(owner, attr, stages.wrap(stage, getattr(owner, attr)))
    patches.set(logging.Logger, "handle", stages.wrap("logging", logging.Logger.handle))
    # Kept connections are health-checked with a raw SELECT 1 on a request's first query.
    backend = type(connections["default"])
    patches.set(backend, "is_usable", stages.wrap("DB: connection health check", backend.is_usable))
    cache_type = type(caches["default"])
    for method in ("get", "set", "add", "get_many", "set_many", "incr", "delete", "touch"):
        if hasattr(cache_type, method):
            patches.set(cache_type, method, stages.cached(getattr(cache_type, method)))
    members = list(_middleware_names(handler._middleware_chain))
    if members:
        patches.set(
            handler, "_middleware_chain", stages.wrap(members[0][1], handler._middleware_chain)
        )
        for (instance, _), (_, inner) in zip(members, [*members[1:], (None, OTHER)], strict=True):
            patches.set(instance, "get_response", stages.wrap(inner, instance.get_response))
    try:
        with connection.execute_wrapper(stages.sql):
            yield
    finally:
        patches.undo()


# --- Requests --------------------------------------------------------------------------


@dataclass
class Credentials:
    token: str
    session: str


def prepare() -> Credentials:
    """The profiled user (a member of one team, no resources), a new token and a session."""
    from django.conf import settings
    from django.test import Client

    from idp import services as idp_services
    from idp.choices import Role
    from idp.models import Membership, Team

    user, _ = idp_services.ensure_user(PROFILE_USERNAME)
    team = Team.objects.filter(slug=PROFILE_TEAM).first() or idp_services.create_team(PROFILE_TEAM)
    if not Membership.objects.filter(team=team, user=user).exists():
        idp_services.set_membership(team, user, Role.MEMBER)
    _, raw = idp_services.create_api_token(user, name=TOKEN_NAME)
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return Credentials(token=raw, session=client.cookies[settings.SESSION_COOKIE_NAME].value)


class Sender:
    """GET requests through a WSGI handler, as gunicorn calls it (`wsgi`), or through the
    test client's handler (`client`: no connection closing, for inside a test transaction)."""

    def __init__(self, handler_kind: str = "wsgi") -> None:
        from django.core.handlers.wsgi import WSGIHandler
        from django.test import RequestFactory
        from django.test.client import ClientHandler

        self.handler: Any = WSGIHandler() if handler_kind == "wsgi" else ClientHandler()
        self.factory = RequestFactory()
        self.kind = handler_kind

    def environ(self, scenario: Scenario, creds: Credentials) -> dict[str, Any]:
        from django.conf import settings

        path, _, query = scenario.path.partition("?")
        extra: dict[str, Any] = {"PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": "GET"}
        if scenario.auth == "token":
            extra["HTTP_AUTHORIZATION"] = f"Bearer {creds.token}"
        elif scenario.auth == "session":
            extra["HTTP_COOKIE"] = f"{settings.SESSION_COOKIE_NAME}={creds.session}"
        return dict(self.factory._base_environ(**extra))  # type: ignore[attr-defined]

    def send(self, environ: dict[str, Any]) -> int:
        if self.kind == "wsgi":
            status: list[str] = []
            body = self.handler(dict(environ), lambda s, h, *a: status.append(s))
            b"".join(body)
            body.close()
            return int(status[0].split()[0])
        # The test client's handler closes the response itself (without closing connections).
        return int(self.handler(dict(environ)).status_code)


def _profile_text(profile: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(lines[start:])


def profile_scenario(
    scenario: Scenario, sender: Sender, creds: Credentials, n: int, *, cprofile_top: int = 0
) -> ScenarioResult:
    """Time `n` requests, capture one's queries, then break `n` more down by stage."""
    from django.db import connection

    environ = sender.environ(scenario, creds)
    for _ in range(3):  # warm: middleware chain, content types, the token's last-used write
        sender.send(environ)
    # Django's CaptureQueriesContext would be emptied by request_started (reset_queries).
    sql: list[str] = []

    def record(execute: Callable[..., Any], query: str, *args: Any) -> Any:
        sql.append(query)
        return execute(query, *args)

    with connection.execute_wrapper(record):
        status = sender.send(environ)
    samples = []
    cpu_started = time.thread_time()
    for _ in range(n):
        started = time.perf_counter()
        sender.send(environ)
        samples.append(time.perf_counter() - started)
    cpu = time.thread_time() - cpu_started
    result = ScenarioResult(
        key=scenario.key,
        path=scenario.path,
        auth=scenario.auth,
        status=status,
        mean_ms=statistics.fmean(samples) * 1000,
        median_ms=statistics.median(samples) * 1000,
        cpu_ms=cpu / n * 1000,
        queries=len(sql),
        sql=[],
    )
    stages = Stages()
    with instrumented(stages, sender.handler):
        stages.recorded = result.sql
        stages.restart()
        sender.send(environ)
        stages.recorded = None
        stages.totals.clear()
        stages.cpu.clear()
        stages.queries.clear()
        stages.cache_calls.clear()
        stages.sql_seconds = stages.cache_seconds = 0.0
        elapsed = 0.0
        for _ in range(n):
            stages.restart()
            started = time.perf_counter()
            sender.send(environ)
            stages.finish()
            elapsed += time.perf_counter() - started
    total = sum(stages.totals.values()) or 1.0
    result.instrumented_ms = elapsed / n * 1000
    result.sql_ms = stages.sql_seconds / n * 1000
    result.cache_ms = stages.cache_seconds / n * 1000
    names = set(stages.totals) | set(stages.queries) | set(stages.cache_calls)
    result.stages = sorted(
        (
            StageRow(
                stage=name,
                ms=stages.totals.get(name, 0.0) / n * 1000,
                cpu_ms=stages.cpu.get(name, 0.0) / n * 1000,
                share=stages.totals.get(name, 0.0) / total,
                queries=stages.queries[name] / n,
                cache_calls=stages.cache_calls[name] / n,
            )
            for name in names
        ),
        key=lambda row: -row.ms,
    )
    if cprofile_top:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(n):
            sender.send(environ)
        profile.disable()
        result.cprofile = _profile_text(profile, cprofile_top)
    return result


def run(
    n: int = 2000,
    *,
    handler_kind: str = "wsgi",
    cprofile_top: int = 0,
    scenarios: tuple[Scenario, ...] = SCENARIOS,
) -> list[ScenarioResult]:
    """Profile every scenario with `n` requests (Django must be set up)."""
    from django.test import override_settings

    creds = prepare()
    # The ceiling view is in the benchmark's URLconf; the test settings use the platform's.
    with override_settings(ROOT_URLCONF="benchmarks.ceiling_urls"):
        sender = Sender(handler_kind)
        return [profile_scenario(s, sender, creds, n, cprofile_top=cprofile_top) for s in scenarios]


# --- Report ----------------------------------------------------------------------------


def format_results(results: list[ScenarioResult], *, min_ms: float = 0.005) -> str:
    lines = [
        "| request | auth | status | mean ms | median ms | CPU ms | queries |",
        "|---|---|---|---|---|---|---|",
    ]
    ceiling = next((r.mean_ms for r in results if r.key == "ceiling"), 0.0)
    for r in results:
        lines.append(
            f"| {r.path} | {r.auth} | {r.status} | {r.mean_ms:.3f} | {r.median_ms:.3f} "
            f"| {r.cpu_ms:.3f} | {r.queries} |"
        )
    if ceiling:
        lines.append(f"\nAbove the ceiling ({ceiling:.3f} ms):")
        lines += [
            f"- {r.key}: +{r.mean_ms - ceiling:.3f} ms" for r in results if r.key != "ceiling"
        ]
    for r in results:
        lines.append(
            f"\n### {r.key}: {r.path} ({r.auth}), {r.instrumented_ms:.3f} ms instrumented "
            f"({r.mean_ms:.3f} ms plain); SQL {r.sql_ms:.3f} ms, cache {r.cache_ms:.3f} ms"
        )
        lines.append("| stage | ms/request | CPU ms | % | queries | cache calls |")
        lines.append("|---|---|---|---|---|---|")
        for row in r.stages:
            if row.ms < min_ms and not row.queries and not row.cache_calls:
                continue
            lines.append(
                f"| {row.stage} | {row.ms:.3f} | {row.cpu_ms:.3f} | {row.share * 100:.1f} "
                f"| {row.queries:g} "
                f"| {row.cache_calls:g} |"
            )
        if r.sql:
            lines.append("\nSQL of one request:")
            lines += [f"  {i}. {sql[:300]}" for i, sql in enumerate(r.sql, 1)]
        if r.cprofile:
            lines.append("\ncProfile, by cumulative time:\n" + r.cprofile)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile_request", description=__doc__
    )
    parser.add_argument("-n", type=int, default=2000, help="requests per scenario and pass")
    parser.add_argument("--migrate", action="store_true", help="migrate the database first")
    parser.add_argument(
        "--cprofile", type=int, default=0, metavar="TOP", help="also print cProfile's top TOP"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("IDP_BENCH_DB", "idp_prof")
    from . import environment

    environment.configure()
    if args.migrate:
        environment.migrate()
    import django

    django.setup()
    print(format_results(run(args.n, cprofile_top=args.cprofile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
