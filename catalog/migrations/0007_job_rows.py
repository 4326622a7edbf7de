"""Docs builds, template-source syncs and location scans become job rows (idp/jobs)."""

from django.db import migrations, models

from idp.jobs.schema import add_job_fields_2026


def sync_state_to_status(apps, schema_editor):  # type: ignore[no-untyped-def]
    source = apps.get_model("catalog", "TemplateSource")
    source.objects.filter(sync_state="queued").update(status="queued")
    # A sync in flight is queued again: the worker that ran it reports to the old fields.
    source.objects.filter(sync_state="syncing").update(status="queued")


def building_to_running(apps, schema_editor):  # type: ignore[no-untyped-def]
    build = apps.get_model("catalog", "DocsBuild")
    build.objects.filter(status="building").update(status="queued")


def running_to_building(apps, schema_editor):  # type: ignore[no-untyped-def]
    build = apps.get_model("catalog", "DocsBuild")
    build.objects.filter(status__in=["running", "cancelled"]).update(status="failed")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_template_sources")]

    operations = [
        # Template sources: the sync's state becomes the row's job status.
        migrations.RenameField("templatesource", "sync_requested_at", "queued_at"),
        migrations.RenameField("templatesource", "sync_started_at", "started_at"),
        *add_job_fields_2026("templatesource", skip=("queued_at", "started_at")),
        migrations.AlterField(
            model_name="templatesource",
            name="queued_at",
            field=models.DateTimeField(
                blank=True, help_text="When it was queued (a retry: when it is due)", null=True
            ),
        ),
        migrations.RunPython(sync_state_to_status, migrations.RunPython.noop),
        migrations.RemoveField(model_name="templatesource", name="sync_state"),
        # Locations: a scan is the row's job.
        *add_job_fields_2026("location"),
        # Docs builds: one job row per build; `building` is the job's `running`.
        *add_job_fields_2026("docsbuild", skip=("status", "finished_at")),
        migrations.AlterField(
            model_name="docsbuild",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("running", "Building"),
                    ("succeeded", "Built"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                ],
                db_index=True,
                default="queued",
                max_length=20,
            ),
        ),
        migrations.RunPython(building_to_running, running_to_building),
    ]
