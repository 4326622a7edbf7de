# SCIM manages only the users it provisioned or that an admin handed to it (issue 24).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("idp", "0008_drift_notification_preference"),
    ]

    operations: list[migrations.operations.base.Operation] = []
