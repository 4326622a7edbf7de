# Workload bindings pinned to GitHub repository and owner ids; replay protection in the database
# (issue 24).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("idp", "0009_scim_managed_users"),
    ]

    operations: list[migrations.operations.base.Operation] = []
