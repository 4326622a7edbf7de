"""One Idempotency-Key, several identical writes at once (threads, each with its own
PostgreSQL connection, committing for real): exactly one effect; every other request waits
and gets the first answer replayed, or a 409 with Retry-After while it still runs."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from fleet.models import FleetUpgrade
from idp import services
from idp.api import idempotency
from idp.models import APIToken, IdempotencyKey
from provisioning.models import Approval, Run
from tests.helpers import bearer
from tests.provisioning.surfaces.conftest import make_version
from tests.utils import assert_error, need

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 5


def race(user: Any, method: str, url: str, body: dict[str, Any], key: str) -> list[Any]:
    """`PARALLEL` identical requests released at once; their answers."""
    # SQLite's shared in-memory test database locks whole tables: a parallel writer is
    # refused at once there, which is no test of the key.
    need(connection.vendor == "postgresql", "parallel writes need PostgreSQL (DATABASE_URL)")
    raw = services.create_api_token(user, name="race")[1]
    # Middleware is loaded (its metrics collector registered) once, before the threads.
    assert bearer(raw).get("/api/v1/me/").status_code == 200
    start = threading.Barrier(PARALLEL)

    def send(_: int) -> Any:
        try:
            client = bearer(raw)
            start.wait()
            return getattr(client, method)(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        finally:
            connection.close()

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(send, range(PARALLEL)))


def one_answer(answers: list[Any]) -> Any:
    """One request acted; the others replayed its answer (or were told it is in progress)."""
    acted = [a for a in answers if a.status_code < 300 and "Idempotent-Replayed" not in a]
    assert len(acted) == 1, [(a.status_code, a.content) for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["detail"] == idempotency.IN_PROGRESS
            assert answer["Retry-After"]
        elif answer is not acted[0]:
            assert answer["Idempotent-Replayed"] == "true"
            assert (answer.status_code, answer.content) == (
                acted[0].status_code,
                acted[0].content,
            )
    return acted[0]


def test_parallel_approvals_with_one_key_approve_once(bob, awaiting) -> None:
    url = f"/api/v1/resources/{awaiting.pk}/approve/"
    one_answer(race(bob, "post", url, {"reason": "ok"}, "approve-race"))
    assert Approval.objects.filter(resource=awaiting).count() == 1


def test_parallel_changes_with_one_key_queue_one_plan(alice, provisioned) -> None:
    url = f"/api/v1/resources/{provisioned.pk}/"
    one_answer(race(alice, "patch", url, {"parameters": {"message": "new"}}, "change-race"))
    assert Run.objects.filter(resource=provisioned).count() == 1


def test_parallel_token_creations_with_one_key_make_one_token(alice) -> None:
    acted = one_answer(race(alice, "post", "/api/v1/tokens/", {"name": "ci"}, "token-race"))
    assert APIToken.objects.filter(user=alice, name="ci").count() == 1
    assert acted.json()["token"].startswith("idp_")


def test_parallel_fleet_starts_with_one_key_start_one_fleet(bob, template, provisioned) -> None:
    make_version(template, 2, extra="# version 2\n")
    body = {
        "template": "example-config",
        "version": "2",
        "selection": {"kind": "team", "teams": ["payments"]},
    }
    one_answer(race(bob, "post", "/api/v1/fleet-upgrades/", body, "fleet-race"))
    assert FleetUpgrade.objects.count() == 1


def test_a_key_still_in_progress_is_a_409_and_an_abandoned_one_is_taken_over(
    api_as, alice, monkeypatch
) -> None:
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    api = api_as(alice)
    first = api.post("/api/v1/tokens/", {"name": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == 201
    # As if the first request were still running.
    IdempotencyKey.objects.filter(key="k").update(finished_at=None, answer="")
    busy = api.post("/api/v1/tokens/", {"name": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert_error(busy, 409)
    assert busy.json()["detail"] == "a request with this Idempotency-Key is in progress"
    assert busy["Retry-After"] == "1"
    assert APIToken.objects.filter(name="ci").count() == 1
    # Its process died (held longer than any request runs): the next request acts.
    IdempotencyKey.objects.filter(key="k").update(started_at=timezone.now() - timedelta(minutes=10))
    taken = api.post("/api/v1/tokens/", {"name": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert taken.status_code == 201 and "Idempotent-Replayed" not in taken
    assert APIToken.objects.filter(name="ci").count() == 2
    assert IdempotencyKey.objects.get(key="k").finished_at is not None
