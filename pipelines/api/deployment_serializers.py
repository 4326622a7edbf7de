"""API shapes of deployments and runtime bindings; inputs are parsed here, rules live in
`pipelines.deployments.actions`."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from idp.api.fields import StrictSerializer

from ..choices import RuntimeKind
from ..models import Deployment, RuntimeBinding


class DeploymentSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service.slug", read_only=True)
    team = serializers.CharField(source="service.team.slug", read_only=True)
    environment = serializers.CharField(source="environment.slug", read_only=True)
    triggered_by = serializers.SerializerMethodField()
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Deployment
        fields = [
            "id",
            "service",
            "team",
            "environment",
            "kind",
            "target",
            "version",
            "commit",
            "artifact",
            "artifact_digest",
            "pipeline_run",
            "status",
            "triggered_by",
            "authors",
            "reason",
            "promoted_from",
            "rollback_of",
            "outcome",
            "error",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ]
        read_only_fields = fields

    def get_triggered_by(self, obj: Deployment) -> str | None:
        return obj.triggered_by.get_username() if obj.triggered_by else None


class DeploymentDetailSerializer(DeploymentSerializer):
    log = serializers.SerializerMethodField()
    approvals = serializers.SerializerMethodField()

    class Meta(DeploymentSerializer.Meta):
        fields = [*DeploymentSerializer.Meta.fields, "log", "approvals"]
        read_only_fields = fields

    def get_log(self, obj: Deployment) -> str:
        from ..deployments.logs import read_log

        return read_log(obj)[0]

    def get_approvals(self, obj: Deployment) -> list[dict[str, Any]]:
        return [
            {
                "decision": a.decision,
                "decided_by": a.decided_by.get_username() if a.decided_by else None,
                "reason": a.reason,
                "created_at": a.created_at,
            }
            for a in obj.approvals.select_related("decided_by")
        ]


class DeploymentCreateSerializer(StrictSerializer):
    service = serializers.SlugField(help_text="The service to deploy")
    environment = serializers.SlugField(help_text="The environment to deploy to")
    artifact = serializers.CharField(
        required=False, max_length=1024, help_text="s3://bucket/key, or a key in the team's bucket"
    )
    commit = serializers.CharField(required=False, max_length=64)
    version = serializers.CharField(required=False, allow_blank=True, max_length=128)
    promote_from = serializers.IntegerField(
        required=False, help_text="Deploy the artifact of this deployment (a promotion)"
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def shape_errors(self) -> dict[str, list[str]]:
        """A deployment names its artifact and commit; a promotion names only its source.
        Asked once the service is known (another team's service is 404 whatever the body)."""
        v = self.validated_data
        if "promote_from" in v:
            return {
                f: ["Not with promote_from: a promotion deploys its artifact."]
                for f in ("artifact", "commit", "version")
                if f in v
            }
        return {
            f: ["This field is required (or give promote_from)."]
            for f in ("artifact", "commit")
            if not v.get(f)
        }


class DecisionSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class RuntimeBindingSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service.slug", read_only=True)
    environment = serializers.CharField(source="environment.slug", read_only=True)
    resource = serializers.IntegerField(source="resource_id", read_only=True)

    class Meta:
        model = RuntimeBinding
        fields = ["id", "service", "environment", "resource", "kind", "created_at"]
        read_only_fields = fields


class RuntimeBindingCreateSerializer(StrictSerializer):
    service = serializers.SlugField()
    environment = serializers.SlugField()
    resource = serializers.IntegerField(help_text="The id of a live resource of the service")
    kind = serializers.ChoiceField(choices=RuntimeKind.choices)


class DeploymentLogSerializer(serializers.Serializer):
    text = serializers.CharField()
    next_offset = serializers.IntegerField()
    complete = serializers.BooleanField()
    status = serializers.CharField()
