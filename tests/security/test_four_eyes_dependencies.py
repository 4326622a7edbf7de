"""Four eyes hold across dependencies (issue 24, finding 3).

The attack: bob changes an upstream resource in an environment that needs no approval; its
apply changes an output a prod resource takes, the platform plans that dependant again by
itself, and bob approves the dependant's plan as if someone else had made it. A plan the
platform starts carries an author chain (whoever caused it), so the upstream change's
author, and everyone who touched that change, cannot decide on the dependant's plan, on the
API, the portal and `manage.py` alike. A reference may point only into its own environment
unless the template allows otherwise.

Real Terraform on the provider-free fixture modules, the real S3 state backend on the local
AWS API; data is committed so the platform's own reaction (a listener called on commit)
starts the dependant's plan exactly as it does in production.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.models import TemplateVersion
from catalog.services import load_template, parse_template, store_template
from catalog.services.loader import read_files
from idp.models import AuditEvent
from provisioning import actions, dispatch
from provisioning.actions.scheduled import expire_resources
from provisioning.choices import RUN_ACTIVE, ResourceStatus, RunKind, RunStatus
from provisioning.crypto import decrypt_bytes, encrypt_bytes
from provisioning.models import Resource, Run
from tests.helpers import wait_for
from tests.provisioning.dependencies.conftest import MODULES, ask
from tests.provisioning.engine.conftest import request_module, run_queued, settle
from tests.utils import assert_error, assert_ok

from .conftest import frozen, portal_messages

FOUR_EYES = "four eyes"
HERE = Path(__file__).resolve().parent / "modules"
REFERENCE = "parameters.subnet_ids"


def api_url(resource: Any, action: str = "") -> str:
    return f"/api/v1/resources/{resource.pk}/" + (f"{action}/" if action else "")


def page_url(resource: Any, action: str = "") -> str:
    return f"/resources/{resource.pk}/" + (f"{action}/" if action else "")


def load(folder: Path) -> TemplateVersion:
    """Load a fixture folder as its template's current version, as `sync_templates` would."""
    _, version, _ = store_template(load_template(folder))
    return version


@pytest.fixture
def templates(db: None) -> dict[str, TemplateVersion]:
    """net-fixture (the upstream), app-fixture (a dependant in the same environment) and
    app-anywhere (a dependant whose template allows an upstream in another environment)."""
    return {
        "net": load(MODULES / "net-fixture"),
        "app": load(MODULES / "app-fixture"),
        "anywhere": load(HERE / "app-anywhere"),
    }


def subnets(upstream: Any) -> dict[str, Any]:
    return {"subnet_ids": {"resource": upstream}}


def newest_plan(resource: Resource) -> Run:
    plan = resource.runs.filter(kind=RunKind.PLAN).order_by("-pk").first()
    assert plan is not None
    return plan


def replanned_by_the_platform(dependant: Resource, upstream: Resource) -> Run:
    """Run the dependant's re-plan the upstream's apply started, and check the platform (no
    person) started it because of that apply."""
    settle(dependant, ResourceStatus.AWAITING_APPROVAL)
    plan = newest_plan(dependant)
    assert plan.status == RunStatus.SUCCEEDED, plan.error
    assert plan.created_by is None  # nobody pressed anything: the platform re-planned it
    applied = upstream.runs.filter(kind=RunKind.APPLY, status=RunStatus.SUCCEEDED).latest("pk")
    assert plan.caused_by_id == applied.pk
    event = AuditEvent.objects.filter(
        action="resource.replanned", target_id=str(dependant.pk)
    ).latest("pk")
    assert event.details["reason"] == "upstream output changed"
    return plan


@pytest.fixture
def replanned(
    bob: Any, dave: Any, erin: Any, teams: Any, envs: Any, state: Any, templates: Any, api_as: Any
) -> tuple[Resource, Resource]:
    """erin's dev network and the prod app that takes its subnets (dave approved it); then bob
    changes the network in dev (no approval there) and the platform re-plans the prod app."""
    net = settle(ask(erin, "net-fixture", "net", {"prefix": "one"}), ResourceStatus.PROVISIONED)
    web = ask(erin, "app-anywhere", "web", subnets(net.pk), environment="prod")
    settle(web, ResourceStatus.AWAITING_APPROVAL)
    actions.approve(web, actor=dave)
    settle(web, ResourceStatus.PROVISIONED)
    assert web.outputs["subnets"] == ["subnet-one-a", "subnet-one-b"]

    response = api_as(bob).patch(api_url(net), {"parameters": {"prefix": "two"}}, format="json")
    assert response.status_code == 202, response.content
    settle(net, ResourceStatus.PROVISIONED)  # dev: applied without review
    assert net.outputs["subnet_ids"] == ["subnet-two-a", "subnet-two-b"]
    plan = replanned_by_the_platform(web, net)
    assert bob.pk in plan.authors
    return net, web


# --- the upstream change's author cannot approve the dependant's re-plan -----------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
@pytest.mark.slow
def test_upstream_author_cannot_approve_the_replanned_dependant_via_api(
    replanned, bob, dave, api_as
) -> None:
    net, web = replanned
    before = frozen(web)
    client = api_as(bob)
    detail = client.get(api_url(web)).json()
    assert "approve" not in detail["allowed_actions"]
    assert "bob" in detail["proposed"]["proposed_by"]
    body = assert_error(client.post(api_url(web, "approve"), {"reason": "mine"}), 403)
    assert FOUR_EYES in str(body["detail"])
    assert_error(client.post(api_url(web, "reject"), {"reason": "mine"}), 403)
    assert frozen(web) == before

    # dave touched nothing of this change: his approval applies it.
    response = api_as(dave).post(api_url(web, "approve"), {"reason": "checked"})
    assert response.status_code == 200, response.content
    settle(web, ResourceStatus.PROVISIONED)
    assert web.outputs["subnets"] == ["subnet-two-a", "subnet-two-b"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
@pytest.mark.slow
def test_upstream_author_cannot_approve_the_replanned_dependant_via_portal(
    replanned, bob, csrf_client
) -> None:
    _, web = replanned
    before = frozen(web)
    client, token = csrf_client(bob, page_url(web))
    response = client.post(page_url(web, "approve"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert FOUR_EYES in portal_messages(response)
    assert frozen(web) == before
    assert web.pk not in [item.resource.pk for item in actions.inbox_items(bob)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
@pytest.mark.slow
def test_upstream_author_cannot_approve_the_replanned_dependant_via_manage_py(
    replanned, bob, erin
) -> None:
    _, web = replanned
    before = frozen(web)
    with pytest.raises(CommandError, match="Not allowed:.*four eyes"):
        call_command("approve", str(web.pk), "--as", "bob")
    assert frozen(web) == before
    # erin requested the dependant long ago (applied since): this change is not hers.
    call_command("approve", str(web.pk), "--as", "erin")
    web.refresh_from_db()
    assert web.status == ResourceStatus.APPLYING


# --- everyone who touched the upstream change is out, in the same environment too ---------


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
@pytest.mark.slow
def test_every_toucher_of_the_upstream_change_is_ineligible(
    alice, bob, dave, erin, teams, envs, state, templates, api_as
) -> None:
    """dave changes the prod network, bob presses "Plan again" on it, erin approves it; the
    prod app re-planned by the platform may be approved by neither dave nor bob."""
    net = ask(alice, "net-fixture", "net", {"prefix": "one"}, environment="prod")
    settle(net, ResourceStatus.AWAITING_APPROVAL)
    actions.approve(net, actor=erin)
    settle(net, ResourceStatus.PROVISIONED)
    web = ask(alice, "app-fixture", "web", subnets("net"), environment="prod")
    settle(web, ResourceStatus.AWAITING_APPROVAL)
    actions.approve(web, actor=erin)
    settle(web, ResourceStatus.PROVISIONED)

    assert (
        api_as(dave).patch(api_url(net), {"parameters": {"prefix": "two"}}, format="json")
    ).status_code == 202
    settle(net, ResourceStatus.AWAITING_APPROVAL)
    assert api_as(bob).post(api_url(net, "plan")).status_code == 202
    settle(net, ResourceStatus.AWAITING_APPROVAL)
    assert api_as(erin).post(api_url(net, "approve")).status_code == 200
    settle(net, ResourceStatus.PROVISIONED)

    plan = replanned_by_the_platform(web, net)
    assert {bob.pk, dave.pk} <= set(plan.authors)
    before = frozen(web)
    for toucher in (bob, dave):
        body = assert_error(api_as(toucher).post(api_url(web, "approve")), 403)
        assert FOUR_EYES in str(body["detail"]), toucher
        with pytest.raises(CommandError, match="four eyes"):
            call_command("approve", str(web.pk), "--as", toucher.username)
    assert frozen(web) == before
    assert sorted(api_as(erin).get(api_url(web)).json()["proposed"]["proposed_by"]) == [
        "bob",
        "dave",
    ]
    assert api_as(erin).post(api_url(web, "approve")).status_code == 200
    settle(web, ResourceStatus.PROVISIONED)
    assert web.outputs["subnets"] == ["subnet-two-a", "subnet-two-b"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
@pytest.mark.slow
def test_the_chain_holds_through_a_dependant_of_a_dependant(
    bob, dave, erin, teams, envs, state, templates, api_as
) -> None:
    """net (dev) -> mid (dev) -> top (prod): bob's change of net re-plans and applies mid in
    dev by itself, which re-plans top in prod; bob is still an author of top's plan."""
    files = read_files(MODULES / "app-fixture")
    relay = files["template.yaml"].replace(
        "{template: net-fixture, output: subnet_ids}",
        "{template: app-fixture, output: subnets, cross_environment: true}",
    )
    store_template(parse_template("app-relay", {**files, "template.yaml": relay}))
    net = settle(ask(erin, "net-fixture", "net", {"prefix": "one"}), ResourceStatus.PROVISIONED)
    mid = settle(ask(erin, "app-fixture", "mid", subnets("net")), ResourceStatus.PROVISIONED)
    top = ask(erin, "app-relay", "top", subnets(mid.pk), environment="prod")
    settle(top, ResourceStatus.AWAITING_APPROVAL)
    actions.approve(top, actor=dave)
    settle(top, ResourceStatus.PROVISIONED)

    mid_before = newest_plan(mid).pk
    actions.change_parameters(net, {"prefix": "two"}, actor=bob)
    settle(net, ResourceStatus.PROVISIONED)
    # A session's Celery worker may have run net's apply: its listener re-plans mid just
    # after net reads provisioned, so wait for that plan and for mid to settle after it.
    wait_for(
        lambda: Run.objects.filter(resource=mid, kind=RunKind.PLAN, pk__gt=mid_before).exists(),
        "mid's re-plan",
    )
    wait_for(
        lambda: (
            not run_queued(mid)
            and mid.status == ResourceStatus.PROVISIONED
            and not mid.runs.filter(status__in=RUN_ACTIVE).exists()
        ),
        "mid's re-plan and apply to end",
    )
    mid_plan = newest_plan(mid)
    assert mid_plan.created_by is None and mid_plan.authors == [bob.pk]
    assert mid.outputs["subnets"] == ["subnet-two-a", "subnet-two-b"]
    plan = replanned_by_the_platform(top, mid)
    assert plan.authors == [bob.pk]

    before = frozen(top)
    body = assert_error(api_as(bob).post(api_url(top, "approve")), 403)
    assert FOUR_EYES in str(body["detail"])
    assert frozen(top) == before
    assert api_as(dave).post(api_url(top, "approve")).status_code == 200


@pytest.mark.django_db
@pytest.mark.integration
@pytest.mark.slow
def test_a_plan_made_again_after_a_refused_apply_keeps_the_changes_authors(
    bob, dave, erin, teams, envs, echo, state, drive, api_as
) -> None:
    """The stored plan file was swapped after dave approved bob's request: the apply is
    refused and the platform plans again, for bob (its author), not for dave (its approver)."""
    resource = request_module(bob, teams["payments"], env="prod", name="db")
    settle(resource, ResourceStatus.AWAITING_APPROVAL)
    plan = newest_plan(resource)
    actions.approve(resource, actor=dave)
    tampered = encrypt_bytes((decrypt_bytes(plan.plan_file) or b"") + b"\0")
    Run.objects.filter(pk=plan.pk).update(plan_file=tampered)
    apply, replan = drive(resource)
    assert apply.status == RunStatus.FAILED and replan.kind == RunKind.PLAN
    assert replan.created_by is None and replan.caused_by_id == apply.pk
    assert replan.authors == [bob.pk] and replan.cause.startswith("plan refused")
    assert_error(api_as(bob).post(api_url(resource, "approve")), 403)
    assert api_as(dave).post(api_url(resource, "approve")).status_code == 200


# --- every run the platform starts says who caused it -------------------------------------


@pytest.mark.django_db
def test_a_run_cannot_be_started_without_saying_who_caused_it(alice, teams, envs, templates):
    net = ask(alice, "net-fixture", "net", {"prefix": "one"})
    for actor in (None, object()):
        with pytest.raises(TypeError, match="who caused it"):
            dispatch.new_run(net, RunKind.DRIFT, actor=actor)


@pytest.mark.django_db
def test_an_expiry_destroy_is_caused_by_whoever_set_the_expiry(
    alice, teams, envs, templates
) -> None:
    net = ask(
        alice,
        "net-fixture",
        "net",
        {"prefix": "one"},
        expires_at=timezone.now() + timedelta(hours=1),
    )
    # As if applied long ago and its expiry passed (no Terraform here).
    Run.objects.filter(resource=net).update(status=RunStatus.SUCCEEDED)
    Resource.objects.filter(pk=net.pk).update(
        status=ResourceStatus.PROVISIONED, expires_at=timezone.now() - timedelta(minutes=1)
    )
    (expired,) = expire_resources()
    plan = newest_plan(expired)
    assert plan.is_destroy and plan.created_by is None
    assert plan.authors == [alice.pk]


@pytest.mark.django_db
def test_a_scheduled_drift_check_names_the_schedule(alice, teams, envs, templates) -> None:
    net = ask(alice, "net-fixture", "net", {"prefix": "one"})
    Run.objects.filter(resource=net).update(status=RunStatus.SUCCEEDED)
    Resource.objects.filter(pk=net.pk).update(status=ResourceStatus.PROVISIONED)
    (run,) = actions.detect_drift()
    assert run.kind == RunKind.DRIFT and run.created_by is None and run.authors == []
    assert run.cause == "scheduled drift check"


# --- a reference stays in its environment unless the template allows otherwise -------------


@pytest.mark.django_db
def test_a_reference_into_another_environment_is_refused_on_request(
    alice, teams, envs, templates, api_as
) -> None:
    net = ask(alice, "net-fixture", "net", {"prefix": "one"})  # dev
    body = {"template": "app-fixture", "team": "payments", "environment": "prod", "name": "web"}
    before = Resource.objects.count()
    refused = assert_error(
        api_as(alice).post(
            "/api/v1/resources/", {**body, "parameters": subnets(net.pk)}, format="json"
        ),
        400,
        REFERENCE,
    )
    message = " ".join(refused["detail"][REFERENCE])
    assert "net is in dev" in message and "prod" in message, message
    assert Resource.objects.count() == before
    # The template that allows it takes the same reference.
    made = assert_ok(
        api_as(alice).post(
            "/api/v1/resources/",
            {**body, "template": "app-anywhere", "parameters": subnets(net.pk)},
            format="json",
        ),
        201,
    )
    assert made["parameters"]["subnet_ids"]["resource"] == net.pk


@pytest.mark.django_db
def test_a_reference_into_another_environment_is_refused_on_change(
    alice, teams, envs, templates, api_as, csrf_client
) -> None:
    ask(alice, "net-fixture", "net", {"prefix": "one"}, environment="prod")
    dev_net = ask(alice, "net-fixture", "dev-net", {"prefix": "two"})
    web = ask(alice, "app-fixture", "web", subnets("dev-net"))  # dev, same environment
    assert web.parameters["subnet_ids"]["resource"] == dev_net.pk
    # Changes need an idle resource: as if the first plans ended (no Terraform here).
    Run.objects.update(status=RunStatus.CANCELLED)
    Resource.objects.update(status=ResourceStatus.PROVISIONED)
    prod_net = Resource.objects.get(name="net")
    before = frozen(web)
    refused = assert_error(
        api_as(alice).patch(api_url(web), {"parameters": subnets(prod_net.pk)}, format="json"),
        400,
        REFERENCE,
    )
    assert "net is in prod" in " ".join(refused["detail"][REFERENCE])
    assert frozen(web) == before
