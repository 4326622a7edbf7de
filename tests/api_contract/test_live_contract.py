"""schemathesis with every check against a live server: each operation answers per its schema.

The real WSGI stack on a port (pytest-django's live server), seeded with a team, a platform
admin whose token holds every scope, the shipped templates and a resource; schemathesis's CLI
runs its coverage and fuzzing phases over every operation with a fixed seed, and any failure
fails the test: there is no baseline of accepted gaps. The one refinement of a check (rules a
schema cannot state, each named with its reason) is in `schemathesis_hooks.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from catalog.services import sync_templates
from idp import services
from idp.choices import Role
from provisioning.actions import request_resource

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# Bounded for a 2-core CI machine: the coverage phase (every boundary and enum value the
# schema states, for each operation) is about three quarters of the run and has no bound;
# the fuzzing phase takes MAX_EXAMPLES per writing operation and fewer per read, whose
# query parameters the coverage phase walks already.
MAX_EXAMPLES = 8
MAX_EXAMPLES_OF_READS = 4
SEED = 20241


@pytest.fixture
def seeded(transactional_db: None, make_team: Any, make_user: Any) -> str:
    """A team, a platform admin in it with a read/write/approve/admin token, the shipped
    templates, two environments and a resource; answers the token."""
    team = make_team("payments")
    make_team("platform")
    admin = make_user("padmin")
    services.set_platform_admin(admin, True)
    services.set_membership(team, admin, Role.ADMIN)
    services.upsert_environment("dev", name="Development", order=10, allows_ttl=True)
    services.upsert_environment(
        "prod", name="Production", order=30, requires_approval=True, is_production=True
    )
    assert sync_templates().ok
    request_resource(
        actor=admin,
        template="example-config",
        version=None,
        team="payments",
        environment="dev",
        name="greeting",
        parameters={"message": "hello"},
    )
    return services.create_api_token(
        admin, name="schemathesis", scopes=["read", "write", "approve", "admin"]
    )[1]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_every_operation_answers_per_its_schema_on_a_live_server(
    live_server: Any, seeded: str, tmp_path: Path
) -> None:
    config = tmp_path / "schemathesis.toml"
    # One unexpected method per operation (DELETE answers 405 with Allow wherever it is not
    # documented); all of them doubled the run time for the same check.
    config.write_text(
        '[phases.coverage]\nunexpected-methods = ["delete"]\n\n'
        '[[operations]]\ninclude-method = "GET"\n'
        f"[operations.phases.fuzzing.generation]\nmax-examples = {MAX_EXAMPLES_OF_READS}\n"
    )
    command = [
        str(Path(sys.executable).parent / "st"),
        "--config-file",
        str(config),
        "run",
        f"{live_server.url}/api/schema/?format=json",
        "--url",
        live_server.url,
        "--header",
        f"Authorization: Bearer {seeded}",
        "--checks",
        "all",
        # Replaced by the refinement in schemathesis_hooks (unknown references are a 400).
        "--exclude-checks",
        "positive_data_acceptance",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        # SQLite's shared in-memory test database locks whole tables on concurrent writes.
        "2" if connection.vendor == "postgresql" else "1",
        # NUL bytes are refused by design (PostgreSQL cannot store them): a 400, by rule.
        "--generation-allow-x00",
        "false",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.api_contract.schemathesis_hooks",
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run(  # noqa: S603 - our own venv's schemathesis
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-5000:]
