# The job framework's row fields (idp/jobs) a run lacked: runs are the `provisioning.run` kind.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("provisioning", "0009_run_hold_and_state_serial"),
    ]

    operations = [
        migrations.AddField(
            model_name="run",
            name="attempts",
            field=models.PositiveIntegerField(
                default=0, help_text="Claims by a worker since it was requested"
            ),
        ),
        migrations.AddField(
            model_name="run",
            name="queued_at",
            field=models.DateTimeField(
                blank=True,
                default=django.utils.timezone.now,
                help_text="When it was queued",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="run",
            name="requested_again",
            field=models.BooleanField(
                default=False, help_text="Asked for again while it ran: it runs once more"
            ),
        ),
        migrations.AddField(
            model_name="run",
            name="workdir",
            field=models.CharField(blank=True, help_text="Its temporary folder", max_length=500),
        ),
        migrations.AlterField(
            model_name="run",
            name="worker",
            field=models.CharField(blank=True, help_text="host:pid of the worker", max_length=200),
        ),
    ]
