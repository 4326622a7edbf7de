"""A pipeline's delivery becomes the row's job (idp/jobs)."""

from django.db import migrations

from idp.jobs.schema import add_job_fields_2026


def queue_deliveries_in_flight(apps, schema_editor):  # type: ignore[no-untyped-def]
    # A delivery queued (or under way) before the job rows is a queued job: the sweeper sends it.
    pipeline = apps.get_model("pipelines", "Pipeline")
    pipeline.objects.filter(delivery_state__in=["queued", "delivering"]).update(status="queued")


class Migration(migrations.Migration):
    dependencies = [("pipelines", "0003_webhook_deliveries_label")]

    operations = [
        *add_job_fields_2026("pipeline"),
        migrations.RunPython(queue_deliveries_in_flight, migrations.RunPython.noop),
    ]
