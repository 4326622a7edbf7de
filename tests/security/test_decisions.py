"""A decision lands on the plan its author reviewed, and no change becomes current unreviewed.

Two attacks a reviewer's side of the approval flow must survive:
- dave opens the page of bob's plan; meanwhile bob stages another change and it is planned;
  dave's click must not approve the newer plan he never saw;
- bob stages a secret Terraform ignores today (no infrastructure change): the no-op plan
  must not adopt it without review in an environment that asks for approval.
"""

from __future__ import annotations

from typing import Any

import pytest

from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind
from provisioning.crypto import decrypt_json
from provisioning.models import Approval, Run
from tests.provisioning.engine.conftest import register_module, request_module
from tests.utils import assert_error, assert_ok

pytestmark = pytest.mark.django_db


def newest_plan(resource: Any) -> Run:
    return resource.runs.filter(kind=RunKind.PLAN).order_by("-pk").first()


@pytest.fixture
def awaiting(bob, teams, envs, echo, state, drive) -> Any:
    resource = request_module(bob, teams["payments"], env="prod", name="db", message="v1")
    drive(resource)
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    return resource


def test_api_approval_of_a_plan_no_longer_pending_is_refused(
    awaiting, bob, dave, api_as, drive
) -> None:
    seen = newest_plan(awaiting).pk
    actions.change_parameters(awaiting, {"message": "v2"}, actor=bob)
    drive(awaiting)
    now = newest_plan(awaiting).pk
    assert now != seen and awaiting.status == ResourceStatus.AWAITING_APPROVAL

    stale = api_as(dave).post(f"/api/v1/resources/{awaiting.pk}/approve/", {"plan_run": seen})
    assert_error(stale, 409, "plan_run")
    assert not Approval.objects.filter(resource=awaiting).exists()
    assert_error(
        api_as(dave).post(
            f"/api/v1/resources/{awaiting.pk}/reject/", {"plan_run": seen, "reason": "no"}
        ),
        409,
        "plan_run",
    )
    fresh = api_as(dave).post(f"/api/v1/resources/{awaiting.pk}/approve/", {"plan_run": now})
    assert assert_ok(fresh)["run"] == now


@pytest.mark.slow
def test_portal_approval_names_the_plan_shown_on_the_page(
    awaiting, bob, dave, csrf_client, drive
) -> None:
    page = f"/resources/{awaiting.pk}/"
    client, token = csrf_client(dave, page)
    shown = newest_plan(awaiting).pk
    assert f'name="plan_run" value="{shown}"' in client.get(page).content.decode()

    actions.replan(awaiting, actor=bob)  # a newer plan while dave reads the old one
    drive(awaiting)
    response = client.post(
        f"/resources/{awaiting.pk}/approve/",
        {"csrfmiddlewaretoken": token, "plan_run": shown, "reason": "looks fine"},
        follow=True,
    )
    assert "no longer the one awaiting approval" in response.content.decode()
    assert not Approval.objects.filter(resource=awaiting).exists()


@pytest.mark.slow
def test_a_noop_plan_does_not_adopt_an_unreviewed_change_where_approval_is_required(
    alice, bob, dave, teams, envs, state, drive
) -> None:
    # The module ignores its secret: changing it changes no infrastructure and no output.
    version = register_module("tf_echo")
    version.files = {
        name: text.replace('"tok-${var.secret}"', '"tok-constant"')
        for name, text in version.files.items()
    }
    version.save(update_fields=["files"])
    resource = request_module(
        alice, teams["payments"], env="prod", name="quiet", parameters={"message": "m"}
    )
    drive(resource)
    actions.approve(resource, actor=dave)
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED

    actions.change_parameters(resource, {"message": "m", "secret": "staged-by-bob"}, actor=bob)
    (plan,) = drive(resource)
    assert plan.plan_summary["has_changes"] is False
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.AWAITING_APPROVAL  # reviewed, not adopted
    assert decrypt_json(resource.sensitive_parameters) == {}
    assert "approve" not in actions.allowed_actions(resource, bob)

    actions.approve(resource, actor=dave)
    drive(resource)
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.PROVISIONED
    assert decrypt_json(resource.sensitive_parameters) == {"secret": "staged-by-bob"}

    # A re-plan that proposes nothing new still needs no one.
    actions.replan(resource, actor=bob)
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED
