"""One Idempotency-Key, six POSTs at once against a live server (gunicorn, three worker
processes): one resource, one 201, five 200s with the same resource, never a 409.

The contract (documented in the API schema): the request that made the resource answers
201; every repeat of the key, also one racing the first, answers 200 with that resource."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from idp import services
from provisioning.models import Resource
from tests.utils import free_port

from .engine_procs import REPO, Proc, Stack, wait_for

# The recovery database, broker, moto server and processes (the `stack` fixture).
pytest_plugins = ["tests.recovery.engine_procs"]

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(240)]

PARALLEL = 6


def start_server(stack: Stack) -> str:
    port = free_port()
    log_path = stack.tmp / "gunicorn.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "3", "--threads", "2", "--timeout", "60"],
            cwd=REPO, env=stack.env(), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = Proc("gunicorn", proc, log_path)
    stack.procs.append(server)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{server.log()[-3000:]}")
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(answers, "the live server", timeout=60)
    return url


def test_parallel_posts_with_one_key_make_one_resource(stack: Stack) -> None:
    team, user = stack.member()
    stack.environment()
    stack.register("tf_echo")
    _, token = services.create_api_token(user, name="race")
    url = start_server(stack)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as warm:
        for _ in range(6):  # every gunicorn worker has loaded Django before the race
            assert warm.get("/api/v1/resources/").status_code == 200

    for round_ in range(3):
        key = f"race-{uuid.uuid4().hex}"
        body = {
            "template": "tf-echo",
            "team": team.slug,
            "environment": "dev",
            "name": f"raced-{round_}-{uuid.uuid4().hex[:4]}",
            "parameters": {"message": "once"},
        }
        start = threading.Barrier(PARALLEL)

        def post(_: int, body: dict[str, Any] = body, key: str = key) -> tuple[int, Any]:
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                start.wait()
                answer = client.post(
                    "/api/v1/resources/", json=body, headers={"Idempotency-Key": key}
                )
            return answer.status_code, answer.json()

        with ThreadPoolExecutor(PARALLEL) as pool:
            answers = list(pool.map(post, range(PARALLEL)))
        codes = sorted(code for code, _ in answers)
        assert codes == [200] * (PARALLEL - 1) + [201], answers
        assert len({data["id"] for _, data in answers}) == 1, answers
        assert Resource.objects.filter(requested_by=user, idempotency_key=key).count() == 1
        assert Resource.objects.filter(team=team, name=body["name"]).count() == 1
