from __future__ import annotations

from typing import Any

from rest_framework import serializers

from idp.models import Team

from ..models import AlarmEvent, Alert, AlertChannel, Budget, CostRecord, MetricSample


class CostRecordSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    service = serializers.CharField(source="service_slug")
    environment = serializers.CharField(source="environment_slug")

    class Meta:
        model = CostRecord
        fields = ["team", "service", "environment", "date", "amount", "currency", "estimated"]


class CostGroupSerializer(serializers.Serializer):
    key = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class CostSummarySerializer(serializers.Serializer):
    team = serializers.CharField(allow_null=True)
    start = serializers.DateField()
    end = serializers.DateField()
    group_by = serializers.CharField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    month_to_date = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    forecast = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    results = CostGroupSerializer(many=True)


class ThresholdSerializer(serializers.Serializer):
    percent = serializers.IntegerField(min_value=1, max_value=1000)
    kind = serializers.ChoiceField(choices=["actual", "forecast"])


class BudgetSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    thresholds = ThresholdSerializer(many=True, read_only=True)

    class Meta:
        model = Budget
        fields = [
            "id",
            "team",
            "monthly_amount",
            "currency",
            "thresholds",
            "aws_budget_name",
            "aws_synced_at",
            "aws_sync_error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class BudgetWriteSerializer(serializers.Serializer):
    """Input of create/update; numbers are checked by the service so portal and API agree."""

    team = serializers.CharField(required=False, help_text="Team slug (create only)")
    monthly_amount = serializers.JSONField(
        help_text='Non-negative USD amount, e.g. 500 or "500.00"'
    )
    thresholds = serializers.JSONField(
        required=False, help_text='[{"percent": 80, "kind": "actual"}]'
    )


class AlertSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "team",
            "budget",
            "threshold",
            "kind",
            "period",
            "amount",
            "budget_amount",
            "message",
            "created_at",
        ]


class MetricSampleSerializer(serializers.ModelSerializer):
    class Meta:
        model = MetricSample
        fields = ["resource", "resource_type", "metric", "statistic", "timestamp", "value", "unit"]


class AlarmEventSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    acknowledged_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = AlarmEvent
        fields = [
            "id",
            "team",
            "resource",
            "alarm_name",
            "old_state",
            "new_state",
            "reason",
            "occurred_at",
            "acknowledged_by",
            "acknowledged_at",
            "created_at",
        ]
        read_only_fields = fields


class CloudWatchLogEventSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    log_group = serializers.CharField()
    log_stream = serializers.CharField()
    timestamp = serializers.DateTimeField()
    message = serializers.CharField()


class AlertChannelSerializer(serializers.ModelSerializer):
    """Parses a new channel; the action checks the endpoint and who may add it."""

    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all()
    )

    class Meta:
        model = AlertChannel
        fields = ["id", "team", "kind", "endpoint", "created_at"]
        read_only_fields = ["id", "created_at"]
        # The action owns "already there": the model's unique check would answer first.
        validators: list[Any] = []

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        request = self.context.get("request")
        # Only your teams can be named: another team reads as one that does not exist.
        user = getattr(request, "user", None)
        team = fields["team"]
        assert isinstance(team, serializers.SlugRelatedField)
        team.queryset = Team.objects.for_user(user) if user else Team.objects.none()
        return fields
