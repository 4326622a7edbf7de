"""Members manage what they own, in a real browser against the live server: alice (a member)
requests a resource in the sandbox, a real worker provisions it with real Terraform, she
destroys it herself; failed requests are archived out of the list and found with its toggle."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from idp import services as idp_services
from idp.models import AuditEvent, Environment
from provisioning import actions
from provisioning.choices import ResourceStatus
from provisioning.models import Resource
from tests.browser_support import ARTIFACTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TERRAFORM_WAIT = 90_000  # ms: a bound for a stuck worker, not a timing assertion


def shot(page: Any, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"member-manage-{step}.png"), full_page=True)


def wait_for_status(page: Any, text: str, timeout: int = TERRAFORM_WAIT) -> None:
    """Until the resource page shows `text` as its status (reloading, should it not poll)."""
    deadline = timezone.now() + timedelta(milliseconds=timeout)
    while text not in page.locator("#resource-status").inner_text():
        assert timezone.now() < deadline, f"the resource never became {text!r}"
        page.wait_for_timeout(500)
        if text not in page.locator("#resource-status").inner_text():
            page.reload()


@pytest.fixture
def sandbox(environments: dict[str, Environment]) -> Environment:
    """Members may destroy here (as the data migration sets sandbox and dev)."""
    return idp_services.upsert_environment(
        "sandbox", name="Sandbox", order=5, members_may_destroy=True
    )


def test_member_destroys_her_sandbox_resource(
    page: Any, state: str, alice: Any, catalog: Any, sandbox: Environment
) -> None:
    sign_in(page, "alice", "pw-alice")
    page.goto("/catalog/templates/example-config/request/")
    page.select_option("select[name=team]", "payments")
    page.select_option("select[name=environment]", "sandbox")
    page.fill("input[name=name]", "alice-scratch")
    page.fill("[name='p-message']", "try me")
    page.fill("[name='p-replicas']", "1")
    page.fill("[name='p-secret_token']", "scratch-token")
    page.click("button[type=submit]:has-text('Request')")
    page.wait_for_url("**/resources/*/")
    resource = Resource.objects.get(name="alice-scratch")

    wait_for_status(page, "Provisioned")
    actions_box = page.locator("#actions")
    assert actions_box.get_by_role("button", name="Destroy").count() == 1
    assert actions_box.get_by_role("button", name="Approve plan").count() == 0
    shot(page, "1-provisioned")

    dialogs: list[str] = []

    def confirm(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", confirm)
    # The resource's page follows (it shows the destroy plan, then the destroy).
    with page.expect_navigation():
        actions_box.get_by_role("button", name="Destroy").click()
    assert page.url.endswith(f"/resources/{resource.pk}/")
    assert dialogs == ["Plan the destruction of alice-scratch?"]
    shot(page, "2-destroy-run")

    page.goto(f"/resources/{resource.pk}/")
    wait_for_status(page, "Destroyed")
    assert page.locator("#actions").get_by_role("button", name="Destroy").count() == 0
    shot(page, "3-destroyed")
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.DESTROYED and resource.destroyed_at is not None
    requested = AuditEvent.objects.get(
        action="resource.destroy_requested", target_id=str(resource.pk)
    )
    assert requested.actor_name == "alice"


def test_archived_requests_leave_the_list_and_its_toggle_finds_them(
    page: Any, alice: Any, teams: dict, catalog: Any, environments: dict[str, Environment]
) -> None:
    def make(name: str, status: str) -> Resource:
        return Resource.objects.create(
            team=teams["payments"],
            template=catalog,
            template_version=catalog.current_version,
            environment=environments["dev"],
            name=name,
            status=status,
            parameters={"message": "hi"},
        )

    make("still-here", ResourceStatus.PROVISIONED)
    failed = make("went-wrong", ResourceStatus.FAILED)
    actions.archive(failed, actor=alice)

    sign_in(page, "alice", "pw-alice")
    page.goto("/resources/")
    table = page.locator("table.resources")
    assert "still-here" in table.inner_text() and "went-wrong" not in table.inner_text()
    page.check("#f-archived")
    page.click("text=Filter")
    page.wait_for_url("**/resources/?*archived=true*")
    assert page.get_by_role("heading", name="Archived resources").count() == 1
    table = page.locator("table.resources")
    assert "went-wrong" in table.inner_text() and "still-here" not in table.inner_text()
    shot(page, "4-archived-list")
    page.get_by_role("link", name="went-wrong").click()
    page.wait_for_url(f"**/resources/{failed.pk}/")
    assert "Failed" in page.locator("#resource-status").inner_text()
