# Workload bindings pinned to GitHub repository and owner ids; replay protection in the database
# (issue 24). Existing bindings keep no ids: each is pinned by its first successful exchange.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("idp", "0009_scim_managed_users"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsedOIDCToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "key",
                    models.CharField(
                        help_text="SHA-256 of issuer and jti", max_length=64, unique=True
                    ),
                ),
                ("expires_at", models.DateTimeField(db_index=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "verbose_name": "used OIDC token",
            },
        ),
        migrations.AddField(
            model_name="workloadidentitybinding",
            name="repository_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="workloadidentitybinding",
            name="repository_owner_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
    ]
