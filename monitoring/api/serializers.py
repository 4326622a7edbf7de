from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from idp.api.fields import StrictModelSerializer, StrictSerializer
from idp.models import Team

from ..choices import ThresholdKind
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


class CostAccuracyTemplateSerializer(serializers.Serializer):
    template = serializers.CharField()
    resource_months = serializers.IntegerField(help_text="Resource-months with an actual")
    estimated = serializers.CharField(help_text="Sum of their estimates, USD")
    actual = serializers.CharField(help_text="Sum of their actuals, USD")
    mape = serializers.FloatField(help_text="Mean absolute percentage error of the estimates")
    correction = serializers.CharField(
        required=False, help_text="With the correction on: the factor actual / estimate learned"
    )
    corrected_mape = serializers.FloatField(
        required=False, help_text="With the correction on: the error of corrected estimates"
    )


class CostAccuracyOffSerializer(serializers.Serializer):
    resource = serializers.JSONField(help_text="{id, name}")
    team = serializers.CharField()
    template = serializers.CharField()
    environment = serializers.CharField()
    month = serializers.CharField(help_text="YYYY-MM")
    estimated = serializers.CharField()
    actual = serializers.CharField()
    error_percent = serializers.FloatField(help_text="(estimate − actual) / actual × 100")


class CostAccuracyPointSerializer(serializers.Serializer):
    month = serializers.CharField()
    mape = serializers.FloatField(allow_null=True)


class CostAccuracySeriesSerializer(serializers.Serializer):
    template = serializers.CharField()
    points = CostAccuracyPointSerializer(many=True)


class CostAccuracySerializer(serializers.Serializer):
    """Estimates checked against Cost Explorer actuals."""

    team = serializers.CharField(allow_null=True)
    template = serializers.CharField(allow_null=True)
    threshold_percent = serializers.FloatField(
        help_text="Resources whose actual is further off than this are listed in `off`"
    )
    correction = serializers.BooleanField(help_text="IDP_COST_CORRECTION is on")
    templates = CostAccuracyTemplateSerializer(many=True)
    off = CostAccuracyOffSerializer(many=True)
    months = serializers.ListField(child=serializers.CharField())
    series = CostAccuracySeriesSerializer(many=True, help_text="MAPE per template and month")


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


# A budget's amount as text: whole dollars and at most two decimals, below 10^10.
AMOUNT_TEXT = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
MAX_AMOUNT = Decimal("9999999999.99")
THRESHOLD_KINDS = list(ThresholdKind.values)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "number", "minimum": 0, "maximum": float(MAX_AMOUNT)},
            {"type": "string", "pattern": AMOUNT_TEXT},
        ]
    }
)
class AmountField(serializers.JSONField):
    """A non-negative USD amount, a JSON number or its text (e.g. 500 or "500.00"); the
    service checks it again, so portal and API agree."""

    default_error_messages = {"invalid": "Enter a non-negative number below 10000000000."}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            if not re.fullmatch(AMOUNT_TEXT[1:-1], data):
                self.fail("invalid")
            return data
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        if not 0 <= data <= MAX_AMOUNT:
            self.fail("invalid")
        return data


@extend_schema_field(
    {
        "type": "array",
        "minItems": 1,
        "nullable": True,
        "items": {
            "type": "object",
            "required": ["percent"],
            "properties": {
                "percent": {"type": "integer", "minimum": 1, "maximum": 1000},
                "kind": {"type": "string", "enum": THRESHOLD_KINDS, "default": "actual"},
            },
        },
    }
)
class ThresholdsField(serializers.JSONField):
    """Alert thresholds, [{"percent": 80, "kind": "actual"}] (null: unchanged, the defaults on
    a new budget). A percent is a whole number here, as budgets show it (80.5 was stored as
    80, 0.5 as 0); the service checks the rest again."""

    default_error_messages = {
        # Braces doubled: DRF formats its messages.
        "invalid": 'Give at least one threshold, each {{"percent": 1 to 1000, "kind": …}}.'
    }

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, list) or not data:
            self.fail("invalid")
        for item in data:
            percent: Any = item.get("percent") if isinstance(item, dict) else None
            whole = isinstance(percent, int) or (
                isinstance(percent, float) and percent.is_integer()
            )
            if isinstance(percent, bool) or not whole or not 1 <= percent <= 1000:
                self.fail("invalid")
        return data


class BudgetWriteSerializer(StrictSerializer):
    """Input of update; numbers are checked by the service so portal and API agree."""

    monthly_amount = AmountField(help_text='Non-negative USD amount, e.g. 500 or "500.00"')
    thresholds = ThresholdsField(
        required=False, allow_null=True, help_text='[{"percent": 80, "kind": "actual"}]'
    )


class BudgetCreateSerializer(BudgetWriteSerializer):
    team = serializers.CharField(help_text="Slug of one of your teams")


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


class AlertChannelSerializer(StrictModelSerializer):
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
