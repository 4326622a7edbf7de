from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from idp.api.fields import (
    JSONObjectField,
    StrictSerializer,
)
from idp.models import Team

from ..models import Template, TemplateVersion

# One help text for every `version_label`: the name `catalog.models.version_label` gives.
VERSION_LABEL_HELP = (
    "The version's one name on every surface: a template source's tag without a leading `v` "
    "(`1.1.0`), else `v` and the number (`v3`)"
)


class VersionSummarySerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    version_label = serializers.CharField(
        source="display", read_only=True, help_text=VERSION_LABEL_HELP
    )

    class Meta:
        model = TemplateVersion
        fields = [
            "number",
            "url",
            "version_label",
            "label",
            "semver",
            "status",
            "source_commit",
            "content_hash",
            "changelog",
            "created_at",
        ]

    def get_url(self, version: TemplateVersion) -> str:
        request = self.context.get("request")
        path = f"/api/v1/templates/{self.context['template_slug']}/versions/{version.number}/"
        return request.build_absolute_uri(path) if request else path


class TemplateSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:template-detail", lookup_field="slug")
    owner: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        source="owner_team", slug_field="slug", read_only=True
    )
    current_version = serializers.IntegerField(source="current_version.number", default=None)
    version_label = serializers.SerializerMethodField(help_text=VERSION_LABEL_HELP)
    # The current version's provider check (catalog.services.providers); null = never checked.
    providers_available = serializers.BooleanField(
        source="current_version.providers_available", default=None, allow_null=True
    )
    missing_providers = serializers.ListField(
        source="current_version.missing_providers", child=serializers.CharField(), default=list
    )
    providers_checked_at = serializers.DateTimeField(
        source="current_version.providers_checked_at", default=None, allow_null=True
    )

    class Meta:
        model = Template
        fields = [
            "slug",
            "url",
            "title",
            "description",
            "category",
            "owner",
            "current_version",
            "version_label",
            "deprecated",
            "providers_available",
            "missing_providers",
            "providers_checked_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_version_label(self, template: Template) -> str | None:
        version = template.current_version
        return version.display if version is not None else None


class TemplateVersionSerializer(serializers.ModelSerializer):
    template: serializers.SlugRelatedField[Template] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    files = serializers.SerializerMethodField()
    version_label = serializers.CharField(
        source="display", read_only=True, help_text=VERSION_LABEL_HELP
    )
    providers_available = serializers.BooleanField(read_only=True, allow_null=True)

    class Meta:
        model = TemplateVersion
        fields = [
            "template",
            "number",
            "version_label",
            "semver",
            "status",
            "status_reason",
            "source_commit",
            "declared_safe_from",
            "content_hash",
            "parameters_schema",
            "outputs",
            "approval_policy",
            "cost_hints",
            "alarms",
            "allowed_environments",
            "changelog",
            "files",
            "required_providers",
            "providers_available",
            "missing_providers",
            "providers_checked_at",
            "created_at",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_files(self, version: TemplateVersion) -> list[str]:
        return sorted(version.files)


class TemplateDetailSerializer(TemplateSerializer):
    parameters_schema = serializers.JSONField(
        source="current_version.parameters_schema", default=None
    )
    outputs = serializers.JSONField(source="current_version.outputs", default=None)
    approval_policy = serializers.JSONField(source="current_version.approval_policy", default=None)
    cost_hints = serializers.JSONField(source="current_version.cost_hints", default=None)
    alarms = serializers.JSONField(source="current_version.alarms", default=None)
    allowed_environments = serializers.JSONField(
        source="current_version.allowed_environments", default=None
    )
    readme = serializers.CharField(source="current_version.readme", default="")
    versions = serializers.SerializerMethodField()

    class Meta(TemplateSerializer.Meta):
        fields = TemplateSerializer.Meta.fields + [
            "parameters_schema",
            "outputs",
            "approval_policy",
            "cost_hints",
            "alarms",
            "allowed_environments",
            "readme",
            "versions",
            "sync_error",
        ]

    @extend_schema_field(VersionSummarySerializer(many=True))
    def get_versions(self, template: Template) -> list[dict[str, Any]]:
        context = {**self.context, "template_slug": template.slug}
        return VersionSummarySerializer(
            template.versions.defer("files", "parameters_schema", "readme", "metadata"),
            many=True,
            context=context,
        ).data  # type: ignore[return-value]


class ParametersCheckSerializer(StrictSerializer):
    version = serializers.IntegerField(required=False, allow_null=True)
    parameters = JSONObjectField(required=False, default=dict)
