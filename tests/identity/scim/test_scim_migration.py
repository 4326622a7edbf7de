"""Upgrading keeps SCIM's users SCIM's: migration 0009 marks the users SCIM provisioned
before the marker existed (their `user.provisioned` audit event), and no other account."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("idp", "0008_drift_notification_preference")]
AFTER = [("idp", "0009_scim_managed_users")]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_users_scim_provisioned_before_the_upgrade_stay_managed() -> None:
    try:
        check_the_upgrade()
    finally:  # back to the newest state for the tests that follow
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def check_the_upgrade() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    User = apps.get_model("auth", "User")
    Group = apps.get_model("auth", "Group")
    AuditEvent = apps.get_model("idp", "AuditEvent")
    provisioned = User.objects.create(username="dana@example.com")
    local = User.objects.create(username="carol")
    root = User.objects.create(username="root", is_superuser=True, is_staff=True)
    breakglass = User.objects.create(username="ops-admin")
    breakglass.groups.add(Group.objects.get_or_create(name="platform-admin")[0])
    for user in (provisioned, root, breakglass):  # an attacker may have "provisioned" root
        AuditEvent.objects.create(
            actor_name="scim-provisioner",
            action="user.provisioned",
            target_type="auth.user",
            target_id=str(user.pk),
            details={"via": "scim"},
        )
    AuditEvent.objects.create(
        actor_name="scim-provisioner",
        action="user.updated",
        target_type="auth.user",
        target_id=str(local.pk),
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    marked = set(
        apps.get_model("idp", "SCIMIdentity").objects.values_list("user__username", flat=True)
    )
    assert marked == {"dana@example.com"}
