from __future__ import annotations

from rest_framework import serializers


class RunCountsSerializer(serializers.Serializer):
    running = serializers.IntegerField()
    queued = serializers.IntegerField()
    failed_last_hour = serializers.IntegerField()
    succeeded_last_hour = serializers.IntegerField()


class LastRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    resource_id = serializers.IntegerField()
    finished_at = serializers.DateTimeField()


class PlatformStatusSerializer(serializers.Serializer):
    workers = serializers.IntegerField(
        allow_null=True,
        help_text="Workers with a heartbeat in the last IDP_WORKER_HEARTBEAT_STALE_SECONDS",
    )
    queue_depth = serializers.IntegerField(
        allow_null=True, help_text="Tasks waiting in the default queue (Redis brokers only)"
    )
    runs = RunCountsSerializer(
        allow_null=True, help_text="Runs of your teams (platform admins: of every team)"
    )
    last_successful_run = LastRunSerializer(
        allow_null=True, help_text="The last successful run of your teams"
    )
    generated_at = serializers.DateTimeField()
