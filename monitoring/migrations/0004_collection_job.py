"""Metrics and costs passes become job rows (idp/jobs); `status` keeps its own `partial`."""

from django.db import migrations, models

from idp.jobs.schema import add_job_fields_2026


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0003_cloudwatch_logs_dashboards_alerts")]

    operations = [
        *add_job_fields_2026("collection", skip=("status", "started_at", "finished_at")),
        migrations.AlterField(
            model_name="collection",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("running", "Running"),
                    ("succeeded", "Succeeded"),
                    ("partial", "Partial"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                ],
                db_index=True,
                default="running",
                max_length=10,
            ),
        ),
    ]
