"""What-if: a draft policy replayed on the stored plans of the last days, with a known
answer over a seeded history; the page, the API and `manage.py policy_whatif`."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from idp.crypto import encrypt_json
from policies.engine import PolicyError
from policies.services import sync_policies
from policies.whatif import what_if
from provisioning.actions.scheduled import forget_old_plans
from provisioning.models import Run
from provisioning.plan_checks import check_plan

from .support import PLANS, plan_run

pytestmark = pytest.mark.django_db

STRICT = """# METADATA
# title: At most 3 replicas in prod
# custom:
#   enforcement: mandatory
#   environments: [prod]
package idp.strict_replicas

import rego.v1

deny contains msg if {
	some rc in input.resource_changes
	replicas := object.get(rc.change.after, ["input", "replicas"], 0)
	replicas > 3
	msg := sprintf("%v asks for %v replicas; at most 3", [rc.address, replicas])
}
"""

ADVISORY = STRICT.replace("mandatory", "advisory").replace("strict_replicas", "soft_replicas")
# The policy in force (at most 5), relaxed to at most 10 under its own name.
RELAXED = (
    (Path(__file__).resolve().parents[2] / "policies/rego/example_replicas.rego")
    .read_text()
    .replace("max_replicas := 5", "max_replicas := 10")
)


def stored_plan(team: Any, name: str, replicas: int, *, env: str = "prod", age: int = 1) -> Run:
    """A plan judged by the policies in force, its JSON kept as a plan run keeps it."""
    run = plan_run(team, name, environment=env)
    document = json.loads((PLANS / "example_replicas_7.json").read_text())
    document["resource_changes"][0]["change"]["after"]["input"]["replicas"] = replicas
    # What a finished plan keeps (provisioning/workflow/planned.py): its checks and JSON.
    summary = check_plan(run, run.resource, document, None)
    Run.objects.filter(pk=run.pk).update(
        policy_summary=summary,
        plan_document=encrypt_json(document),
        created_at=timezone.now() - timedelta(days=age),
    )
    return Run.objects.get(pk=run.pk)


@pytest.fixture
def history(teams: dict[str, Any]) -> dict[str, Run]:
    sync_policies()
    payments, search = teams["payments"], teams["search"]
    return {
        "r1": stored_plan(payments, "r1", 3),
        "r2": stored_plan(payments, "r2", 4),
        "r3": stored_plan(payments, "r3", 9),  # blocked by example_replicas (at most 5)
        "s1": stored_plan(search, "s1", 4),
        "s2": stored_plan(search, "s2", 2),
        "dev": stored_plan(payments, "d1", 9, env="dev"),  # out of both scopes
        "old": stored_plan(search, "old", 4, age=40),  # older than the 30 days asked
    }


def test_a_new_mandatory_policy_names_whom_it_would_block(history) -> None:
    assert history["r3"].policy_summary["blocking"] == 1
    answer = what_if(STRICT, name="strict_replicas.rego", days=30)
    assert (answer.policy, answer.replaces, answer.plans) == ("strict_replicas", False, 5)
    assert (answer.newly_blocked, answer.no_longer_blocked, answer.unchanged) == (2, 0, 2)
    assert answer.failing == 3
    assert answer.by_team == {
        "payments": {"newly blocked": 1, "newly failing": 1},
        "search": {"newly blocked": 1},
    }
    changed = {item.name: item.change for item in answer.changed}
    assert changed == {"r2": "newly blocked", "r3": "newly failing", "s1": "newly blocked"}
    assert "asks for 4 replicas" in answer.changed[0].messages[0]
    assert sum(sum(day.values()) - 0 for day in ({k: v for k, v in d.items() if k != "day"}
               for d in answer.by_day)) == 3  # fmt: skip


def test_an_advisory_draft_only_warns(history) -> None:
    answer = what_if(ADVISORY, name="soft_replicas.rego", days=30)
    assert (answer.newly_blocked, answer.newly_warned, answer.warning) == (0, 3, 3)


def test_relaxing_the_policy_in_force_unblocks(history) -> None:
    answer = what_if(RELAXED, name="example_replicas.rego", days=30)
    assert answer.replaces
    assert (answer.no_longer_blocked, answer.newly_blocked) == (1, 0)
    assert [item.name for item in answer.changed] == ["r3"]


def test_a_draft_that_does_not_compile_says_where(history) -> None:
    with pytest.raises(PolicyError) as error:
        what_if(STRICT.replace("some rc in", "some rc inn"), name="strict_replicas.rego")
    assert "strict_replicas.rego:" in str(error.value)


def test_the_api_is_for_platform_admins(history, api_as, platform_admin, bob) -> None:
    body = {"source": STRICT, "name": "strict_replicas.rego", "days": 30}
    assert api_as(bob).post("/api/v1/policies/whatif/", body, format="json").status_code == 403
    answer = api_as(platform_admin).post("/api/v1/policies/whatif/", body, format="json")
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert (data["plans"], data["newly_blocked"]) == (5, 2)
    assert {c["url"] for c in data["changed"]} == {
        f"/resources/runs/{history[k].pk}/" for k in ("r2", "r3", "s1")
    }
    broken = api_as(platform_admin).post(
        "/api/v1/policies/whatif/", {**body, "source": "package idp.x\ndeny contains if {"},
        format="json",
    )  # fmt: skip
    assert broken.status_code == 400
    assert "strict_replicas.rego" in json.dumps(broken.json())
    assert (
        api_as(platform_admin)
        .post("/api/v1/policies/whatif/", {**body, "days": 0}, format="json")
        .status_code
        == 400
    )


def test_the_page_shows_counts_chart_and_plans(history, client_as, platform_admin, bob) -> None:
    assert client_as(bob).get("/policies/whatif/").status_code == 403
    client = client_as(platform_admin)
    assert "Try a draft on past plans" in client.get("/policies/").content.decode()
    page = client.post("/policies/whatif/", {"source": STRICT, "days": 30})
    assert page.status_code == 200
    text = page.content.decode()
    assert "2 newly blocked" in text
    assert 'data-policy-chart="whatif-data"' in text
    assert f'data-run="{history["s1"].pk}"' in text
    bad = client.post("/policies/whatif/", {"source": "package nope", "days": 30})
    assert bad.status_code == 400
    assert "outside the namespace" in bad.content.decode()


def test_the_command(history, tmp_path) -> None:
    draft = tmp_path / "strict_replicas.rego"
    draft.write_text(STRICT)
    out = StringIO()
    call_command("policy_whatif", str(draft), "--days", "30", stdout=out)
    text = out.getvalue()
    assert "on 5 plans of the last 30 days" in text
    assert "newly blocked 2" in text and "team search: newly blocked 1" in text
    draft.write_text("package idp.broken\ndeny contains if {")
    with pytest.raises(CommandError, match="strict_replicas.rego"):
        call_command("policy_whatif", str(draft))


def test_plans_past_retention_forget_their_json(history, settings) -> None:
    settings.IDP_PLAN_RETENTION_DAYS = 30
    assert forget_old_plans() == 1
    assert Run.objects.get(pk=history["old"].pk).plan_document == ""
    assert Run.objects.get(pk=history["r1"].pk).plan_document != ""


MANY = """# METADATA
# title: Many replicas need two approvals, one an admin
package idp.approval.many_replicas

import rego.v1

require contains {"approvals": 2, "role": "admin", "msg": msg} if {
	some rc in input.resource_changes
	replicas := object.get(rc.change.after, ["input", "replicas"], 0)
	replicas > 3
	msg := sprintf("%v replicas", [replicas])
}
"""


def test_an_approval_rule_draft_says_who_would_need_more(history, api_as, platform_admin):
    answer = what_if(MANY, name="many_replicas.rego", days=30)
    assert answer.kind == "approval"
    assert (answer.plans, answer.more_approvals, answer.unchanged) == (6, 4, 2)
    changed = {item.name: item for item in answer.changed}
    assert set(changed) == {"r2", "r3", "s1", "d1"}
    assert changed["r2"].after == "2 approvals, one an admin"
    assert changed["r2"].change == "needs more approvals"
    assert any("4 replicas" in m for m in changed["r2"].messages)
    body = api_as(platform_admin).post(
        "/api/v1/policies/whatif/",
        {"source": MANY, "name": "many_replicas.rego", "days": 30},
        format="json",
    )
    assert body.status_code == 200, body.content
    assert body.json()["more_approvals"] == 4


def test_the_page_and_command_show_an_approval_rules_effect(
    history, client_as, platform_admin, tmp_path
) -> None:
    page = client_as(platform_admin).post("/policies/whatif/", {"source": MANY, "days": 30})
    text = page.content.decode()
    assert page.status_code == 200
    assert "4 would need more approvals" in text
    assert "→ <strong>2 approvals, one an admin</strong>" in text
    draft = tmp_path / "many_replicas.rego"
    draft.write_text(MANY)
    out = StringIO()
    call_command("policy_whatif", str(draft), stdout=out)
    assert "needs more approvals 4" in out.getvalue()
