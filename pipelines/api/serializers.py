"""API shapes of pipelines and their runs; inputs are parsed here, rules live in services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from catalog.models import Service
from idp.api.fields import JSONObjectField, StrictSerializer

from ..choices import PipelineTemplate
from ..models import Pipeline, PipelineRun


class FindingSerializer(serializers.Serializer):
    # The API names this field "source"; the stubs see it as Field.source (a str).
    source = serializers.ChoiceField(choices=["schema", "actionlint"])  # type: ignore[assignment]
    line = serializers.IntegerField()
    column = serializers.IntegerField()
    message = serializers.CharField()


class PipelineRunSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)

    class Meta:
        model = PipelineRun
        fields = [
            "id",
            "environment",
            "github_run_id",
            "run_attempt",
            "run_number",
            "event",
            "status",
            "conclusion",
            "state",
            "duration_seconds",
            "head_branch",
            "head_sha",
            "actor",
            "html_url",
            "started_at",
            "completed_at",
            "updated_at",
        ]
        read_only_fields = fields


class PipelineSerializer(serializers.ModelSerializer):
    service: serializers.SlugRelatedField[Service] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    team = serializers.CharField(source="service.team.slug", read_only=True)
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    findings = FindingSerializer(many=True, read_only=True)
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)
    options = serializers.DictField(read_only=True)
    environments = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Pipeline
        fields = [
            "id",
            "service",
            "team",
            "slug",
            "template",
            "environments",
            "options",
            "workflow_name",
            "workflow_path",
            "repository",
            "delivery_state",
            "branch",
            "pr_number",
            "pr_url",
            "last_error",
            "findings",
            "warnings",
            "created_by",
            "created_at",
            "updated_at",
            "delivered_at",
        ]
        read_only_fields = fields


class PipelineDetailSerializer(PipelineSerializer):
    class Meta(PipelineSerializer.Meta):
        fields = [*PipelineSerializer.Meta.fields, "yaml"]
        read_only_fields = fields


class PreviewInputSerializer(StrictSerializer):
    service = serializers.SlugField(help_text="Service slug")
    template = serializers.ChoiceField(choices=PipelineTemplate.choices)
    environments = serializers.ListField(
        child=serializers.SlugField(), allow_empty=False, help_text="Environment slugs"
    )
    options = JSONObjectField(required=False, default=dict)


class PipelineCreateSerializer(PreviewInputSerializer):
    slug = serializers.SlugField(
        required=False,
        allow_blank=True,
        max_length=50,
        help_text="Names the workflow file and branch; default: template",
    )
    deliver = serializers.BooleanField(
        required=False, default=False, help_text="Queue delivery right away"
    )


class PipelineUpdateSerializer(StrictSerializer):
    environments = serializers.ListField(child=serializers.SlugField(), required=False)
    options = JSONObjectField(required=False)


class PreviewSerializer(serializers.Serializer):
    yaml = serializers.CharField()
    findings = FindingSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


class PipelineTemplateSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    options_schema = serializers.DictField()

    def to_representation(self, instance: Any) -> Any:
        return instance
