from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from ..choices import Role, TokenScope
from ..models import APIToken, AuditEvent, Environment, Membership, Team
from .fields import (
    LifetimeField,
    SlugRuleField,
    StrictModelSerializer,
    StrictSerializer,
    WholeBody,
)


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name"]


class TeamRoleSerializer(serializers.Serializer):
    slug = serializers.SlugField(source="team.slug")
    name = serializers.CharField(source="team.name")
    role = serializers.ChoiceField(choices=Role.choices)


class TokenSummarySerializer(serializers.Serializer):
    """The API token of this request: what it may do, where, until when."""

    key_prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    team = serializers.CharField(source="team.slug", allow_null=True, default=None)
    expires_at = serializers.DateTimeField(allow_null=True)


class MeSerializer(serializers.Serializer):
    user = UserSummarySerializer()
    is_platform_admin = serializers.BooleanField()
    teams = TeamRoleSerializer(many=True)
    service_account = serializers.DictField(
        allow_null=True, help_text="team and role, when the caller is a service account"
    )
    token = TokenSummarySerializer(allow_null=True, help_text="null for sessions and JWTs")


class MembershipSerializer(serializers.ModelSerializer):
    # Usernames and roles only: a team admin has no business with other users' e-mails.
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]


class MembershipWriteSerializer(StrictSerializer):
    """An existing user by name and a role; the user's own fields are not input here."""

    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Refused rather than ignored: a client that sends it expects it applied, and it
        # never is (it once rewrote the e-mail of whoever was added).
        if "email" in getattr(self, "initial_data", {}):
            raise serializers.ValidationError(
                {
                    "email": [
                        "Adding a member never changes the user; platform admins manage "
                        "e-mail addresses (Django admin)."
                    ]
                }
            )
        return attrs


class MembershipRoleSerializer(WholeBody, StrictSerializer):
    """The body of PATCH: the role is required there too."""

    role = serializers.ChoiceField(choices=Role.choices)


class TeamSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:team-detail", lookup_field="slug")
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Team
        fields = ["id", "url", "slug", "name", "description", "member_count", "created_at"]
        read_only_fields = ["id", "created_at"]


class TeamDetailSerializer(TeamSerializer):
    members = MembershipSerializer(source="memberships", many=True, read_only=True)
    my_role = serializers.SerializerMethodField()

    class Meta(TeamSerializer.Meta):
        fields = TeamSerializer.Meta.fields + ["members", "my_role"]

    def get_my_role(self, team: Team) -> str | None:
        user = self.context["request"].user
        for membership in team.memberships.all():
            if membership.user_id == user.pk:
                return membership.role
        return None


class TeamUpdateSerializer(StrictModelSerializer):
    class Meta:
        model = Team
        fields = ["name", "description"]


class TeamCreateSerializer(StrictModelSerializer):
    slug = SlugRuleField()

    class Meta:
        model = Team
        fields = ["slug", "name", "description"]
        # Uniqueness is the service's call (409); the name defaults to the title-cased slug.
        extra_kwargs = {"slug": {"validators": []}, "name": {"required": False}}


class EnvironmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Environment
        fields = [
            "slug",
            "name",
            "description",
            "order",
            "aws_account_id",
            "aws_region",
            "requires_approval",
            "approvals_required",
            "approver_role",
            "over_budget_platform_admin",
            "auto_approve_allowed",
            "allows_ttl",
            "is_production",
            "members_may_destroy",
        ]


class AuditEventSerializer(serializers.ModelSerializer):
    # Platform-wide events (environments, templates) belong to no team.
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor_name",
            "action",
            "target_type",
            "target_id",
            "target_repr",
            "team",
            "details",
            "ip_address",
            "request_id",
        ]


class APITokenSerializer(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=TokenScope.choices))
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = APIToken
        fields = [
            "id",
            "name",
            "key_prefix",
            "scopes",
            "team",
            "created_at",
            "last_used_at",
            "last_used_ip",
            "expires_at",
            "revoked_at",
        ]
        read_only_fields = fields


class APITokenCreateSerializer(StrictSerializer):
    """Parses; what a token may get (scopes, team, lifetime) is the service's rule."""

    name = serializers.CharField(max_length=100, default="default")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=TokenScope.choices),
        required=False,
        min_length=1,
        help_text="read, write, approve, admin (scim for SCIM clients); default: read only "
        "(a service account's: read, write)",
    )
    expires_in = LifetimeField(
        required=False,
        help_text="Lifetime: 30d, 12h, 2w or a number of days (default IDP_TOKEN_DEFAULT_DAYS)",
    )
    team = serializers.SlugField(required=False, help_text="Limit the token to this team's objects")


class APITokenCreatedSerializer(APITokenSerializer):
    token = serializers.SerializerMethodField()

    class Meta(APITokenSerializer.Meta):
        fields = APITokenSerializer.Meta.fields + ["token"]
        read_only_fields = fields

    def get_token(self, obj: Any) -> str:
        return self.context["raw_token"]


class ErrorSerializer(serializers.Serializer):
    detail = serializers.JSONField(help_text="A message, or field -> list of messages")


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="A JWT for the Authorization: Bearer header")
    refresh = serializers.CharField(help_text="Trade it at /api/v1/auth/token/refresh/")


class TokenAccessSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="A fresh JWT for the Authorization: Bearer header")
