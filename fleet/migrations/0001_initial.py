
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('catalog', '0005_entities_docs_scorecards'),
        ('idp', '0006_identity_and_environment_options'),
        ('provisioning', '0007_drift_and_dependencies'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='FleetUpgrade',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('selection', models.JSONField(default=dict, help_text='How the resources were chosen: kind and values')),
                ('waves', models.JSONField(default=list, help_text='The waves in order: name, and environments or a percentage')),
                ('status', models.CharField(choices=[('planning', 'Planning'), ('planned', 'Planned (waiting to start the waves)'), ('applying', 'Applying in waves'), ('paused', 'Paused'), ('completed', 'Completed'), ('cancelled', 'Cancelled')], db_index=True, default='planning', max_length=20)),
                ('current_wave', models.PositiveIntegerField(default=0)),
                ('parallelism', models.PositiveIntegerField(default=10, help_text='At most this many plans (and applies) in flight at once')),
                ('failure_threshold', models.PositiveIntegerField(default=0, help_text="Pause when more than this percentage of a wave's applies failed")),
                ('auto_apply', models.BooleanField(default=True, help_text='Start the waves once every plan finished (else: resume)')),
                ('pause_reason', models.TextField(blank=True)),
                ('acknowledged_failures', models.PositiveIntegerField(default=0, help_text='Failures of the current wave known when it was resumed (they pause no more)')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('planned_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('target_version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='fleet_upgrades', to='catalog.templateversion')),
                ('team', models.ForeignKey(blank=True, help_text='The team whose resources it moves; empty: platform-wide (platform admins)', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='fleet_upgrades', to='idp.team')),
                ('template', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='fleet_upgrades', to='catalog.template')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='FleetItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('wave', models.PositiveIntegerField(default=0)),
                ('status', models.CharField(choices=[('pending', 'Waiting to be planned'), ('planning', 'Planning'), ('planned', 'Planned, held for its wave'), ('applying', 'Applying'), ('awaiting_approval', 'Awaiting approval'), ('applied', 'Applied'), ('unchanged', 'Already on the target version'), ('plan_failed', 'Plan failed'), ('policy_failed', 'Failed a policy'), ('failed', 'Apply failed'), ('rejected', 'Rejected'), ('skipped', 'Skipped (withdrawn, expired or changed meanwhile)'), ('cancelled', 'Cancelled')], db_index=True, default='pending', max_length=20)),
                ('group', models.CharField(blank=True, choices=[('no_op', 'No changes'), ('update', 'In-place changes'), ('replace', 'Replacements'), ('destroy', 'Destroys'), ('policy_failed', 'Policy failures'), ('plan_error', 'Plan errors')], max_length=20)),
                ('error', models.TextField(blank=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('apply_run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='provisioning.run')),
                ('from_version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.templateversion')),
                ('plan_run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='provisioning.run')),
                ('resource', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='fleet_items', to='provisioning.resource')),
                ('fleet', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='fleet.fleetupgrade')),
            ],
            options={
                'ordering': ['wave', 'id'],
                'indexes': [models.Index(fields=['fleet', 'status'], name='fleet_fleet_fleet_i_78531a_idx'), models.Index(fields=['fleet', 'wave'], name='fleet_fleet_fleet_i_3bca58_idx')],
                'constraints': [models.UniqueConstraint(fields=('fleet', 'resource'), name='unique_fleet_resource')],
            },
        ),
    ]
