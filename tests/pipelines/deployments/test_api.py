"""/api/v1/deployments/: deploy, list, read with log, promote through an approval (four
eyes), roll back; another team's service and deployments are 404; bad input is 400."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pipelines.choices import DeploymentStatus
from pipelines.models import Deployment

from ...helpers import wait_for_status
from .conftest import World, zip_of

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/deployments/"


def post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


def artifact(world: World, version: str) -> str:
    data = zip_of({"app.py": f"def handler(e, c):\n    return {version!r}\n"})
    return world.upload(f"payments-api/{version}.zip", data)


def body(world: World, env: str, version: str) -> dict[str, Any]:
    return {
        "service": "payments-api",
        "environment": env,
        "artifact": artifact(world, version),
        "commit": "9f" * 20,
        "version": version,
    }


def test_deploy_list_and_read_with_log(
    world: World, alice: Any, api_as: Any, celery_worker: Any
) -> None:
    api = api_as(alice)
    response = post(api, URL, body(world, "dev", "1.0.0"))
    assert response.status_code == 202, response.json()
    assert response.json()["status"] in ("queued", "running", "succeeded")
    deployment = wait_for_status(
        Deployment.objects.get(pk=response.json()["id"]), DeploymentStatus.SUCCEEDED, timeout=60
    )
    listed = api.get(URL, {"service": "payments-api", "environment": "dev"}).json()
    assert [d["id"] for d in listed["results"]] == [deployment.pk]
    assert api.get(URL, {"environment": "prod"}).json()["results"] == []
    detail = api.get(f"{URL}{deployment.pk}/").json()
    assert detail["status"] == "succeeded"
    assert detail["triggered_by"] == "alice"
    assert detail["artifact_digest"].startswith("sha256:")
    assert "Alias live moved to version" in detail["log"]
    page = api.get(f"{URL}{deployment.pk}/log/", {"offset": 10}).json()
    assert page["complete"] is True and page["text"] == detail["log"][10:]


def test_another_teams_service_and_deployments_are_404(
    world: World, alice: Any, carol: Any, api_as: Any
) -> None:
    from pipelines.deployments import actions

    mine = actions.request_deployment(
        world.service, world.envs["dev"], artifact="x.zip", commit="abcdef1", actor=alice
    ).deployment
    other = api_as(carol)
    response = post(other, URL, body(world, "dev", "1.0.0"))
    assert response.status_code == 404, response.json()
    assert other.get(f"{URL}{mine.pk}/").status_code == 404
    assert other.get(URL, {"service": "payments-api"}).json()["results"] == []
    assert post(other, f"{URL}{mine.pk}/rollback/", {}).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"commit": "not-a-sha"}, "commit"),
        ({"version": "../escape"}, "version"),
        ({"artifact": "https://example.com/a.zip"}, "artifact"),
        ({"environment": "nowhere"}, "environment"),
        ({"artifact": None}, "artifact"),
        ({"promote_from": 1}, "artifact"),
    ],
)
def test_bad_input_is_400_on_the_field(
    world: World, alice: Any, api_as: Any, change: dict[str, Any], field: str
) -> None:
    data = {**body(world, "dev", "1.0.0"), **change}
    data = {k: v for k, v in data.items() if v is not None}
    response = post(api_as(alice), URL, data)
    assert response.status_code == 400, response.json()
    assert field in response.json()["detail"], response.json()
    assert not Deployment.objects.exists()


def test_a_service_without_a_runtime_there_is_400(world: World, alice: Any, api_as: Any) -> None:
    world.bindings["staging"].delete()
    response = post(api_as(alice), URL, body(world, "staging", "1.0.0"))
    assert response.status_code == 400
    assert "no runtime in staging" in response.json()["detail"]["environment"][0]


def test_promotion_to_prod_waits_for_a_second_person(
    world: World, alice: Any, bob: Any, make_user: Any, api_as: Any, celery_worker: Any
) -> None:
    from idp.choices import Role

    api = api_as(alice)
    staged = post(api, URL, body(world, "staging", "2.0.0")).json()
    staged = wait_for_status(
        Deployment.objects.get(pk=staged["id"]), DeploymentStatus.SUCCEEDED, timeout=60
    )
    # bob (a maintainer) promotes alice's staging deployment to prod, which requires approval.
    bob_api = api_as(bob)
    response = post(
        bob_api,
        URL,
        {"service": "payments-api", "environment": "prod", "promote_from": staged.pk},
    )
    assert response.status_code == 202, response.json()
    promoted = response.json()
    assert promoted["status"] == "awaiting_approval"
    assert promoted["promoted_from"] == staged.pk
    assert promoted["artifact_digest"] == staged.artifact_digest
    # Nothing runs while it waits.
    assert Deployment.objects.get(pk=promoted["id"]).started_at is None
    # Neither the promoter nor the author of what it repeats may approve it; a member may not.
    refused = post(bob_api, f"{URL}{promoted['id']}/approve/", {})
    assert refused.status_code == 403 and "four eyes" in refused.json()["detail"]
    refused = post(api, f"{URL}{promoted['id']}/approve/", {})
    assert refused.status_code == 403
    dave = make_user("dave", team=world.service.team, role=Role.MAINTAINER)
    approved = post(api_as(dave), f"{URL}{promoted['id']}/approve/", {"reason": "looks good"})
    assert approved.status_code == 200, approved.json()
    done = wait_for_status(
        Deployment.objects.get(pk=promoted["id"]), DeploymentStatus.SUCCEEDED, timeout=60
    )
    assert done.outcome["function"] == world.lambdas["prod"]
    again = post(api_as(dave), f"{URL}{promoted['id']}/approve/", {})
    assert again.status_code == 409


def test_a_rejected_deployment_never_runs(world: World, alice: Any, bob: Any, api_as: Any) -> None:
    response = post(api_as(alice), URL, body(world, "prod", "3.0.0"))
    assert response.json()["status"] == "awaiting_approval"
    pk = response.json()["id"]
    no_reason = post(api_as(bob), f"{URL}{pk}/reject/", {})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["detail"]
    rejected = post(api_as(bob), f"{URL}{pk}/reject/", {"reason": "not this week"})
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["approvals"][0]["decided_by"] == "bob"


def test_a_service_account_deploys_as_itself_and_a_person_approves(
    world: World, bob: Any, api_as: Any
) -> None:
    """CI deploys with its service account's token: the deployment names the account; it
    never approves, and the person who made it still may (four eyes counts who triggered)."""
    from idp import service_accounts

    from ...helpers import bearer

    account = service_accounts.create_service_account(world.service.team, "ci", actor=bob)
    _, raw = service_accounts.create_service_account_token(account, actor=bob)
    ci = bearer(raw)
    response = post(ci, URL, body(world, "prod", "6.0.0"))
    assert response.status_code == 202, response.json()
    assert response.json()["triggered_by"] == account.user.get_username()
    pk = response.json()["id"]
    refused = post(ci, f"{URL}{pk}/approve/", {})
    assert refused.status_code == 403
    approved = post(api_as(bob), f"{URL}{pk}/approve/", {})
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] in ("queued", "running", "succeeded")
