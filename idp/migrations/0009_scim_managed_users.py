# SCIM manages only the users it provisioned or that an admin handed to it (issue 24).

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

PLATFORM_ADMIN_GROUP = "platform-admin"
SCIM_SERVICE_USER = "scim-provisioner"


def mark_users_scim_provisioned(apps: Any, schema_editor: Any) -> None:
    """Users SCIM created before the marker existed keep being SCIM's: each has a
    `user.provisioned` audit event (written only by SCIM). Privileged accounts and service
    accounts are left out: SCIM never manages them, marked or not."""
    AuditEvent = apps.get_model("idp", "AuditEvent")
    SCIMIdentity = apps.get_model("idp", "SCIMIdentity")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    label = f"{User._meta.app_label}.{User._meta.model_name}"
    provisioned = {
        int(target_id)
        for target_id in AuditEvent.objects.filter(
            action="user.provisioned", target_type=label
        ).values_list("target_id", flat=True)
        if str(target_id).isdigit()
    }
    users = (
        User.objects.filter(pk__in=provisioned, is_superuser=False, is_staff=False)
        .exclude(groups__name=PLATFORM_ADMIN_GROUP)
        .exclude(service_account__isnull=False)
        .exclude(username__startswith="sa:")
        .exclude(username=SCIM_SERVICE_USER)
        .exclude(scim_identity__isnull=False)
    )
    SCIMIdentity.objects.bulk_create(
        [SCIMIdentity(user_id=pk) for pk in users.values_list("pk", flat=True)]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("idp", "0008_drift_notification_preference"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="SCIMIdentity",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "external_id",
                    models.CharField(
                        blank=True,
                        help_text="The identity provider's id of the user",
                        max_length=255,
                    ),
                ),
                ("claimed_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "claimed_by",
                    models.ForeignKey(
                        blank=True,
                        help_text="The platform admin who handed an existing user to SCIM",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="scim_identity",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "SCIM identity",
                "verbose_name_plural": "SCIM identities",
            },
        ),
        migrations.RunPython(mark_users_scim_provisioned, migrations.RunPython.noop),
    ]
