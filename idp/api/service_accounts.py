"""Service accounts of a team, their tokens and GitHub Actions bindings, under
/api/v1/teams/{slug}/service-accounts/; and the OIDC token exchange at
/api/v1/auth/github-oidc/.

Members of the team see its service accounts; maintainers manage them (the actions in
`idp.service_accounts` own every rule). Another team's service account answers 404.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import service_accounts as actions
from .. import services, workload_identity
from ..choices import SERVICE_ACCOUNT_SCOPES, Role, TokenScope
from ..models import (
    SERVICE_ACCOUNT_ROLES,
    APIToken,
    ServiceAccount,
    Team,
    WorkloadIdentityBinding,
)
from . import serializers as s
from .fields import LifetimeField, SlugRuleField, StrictSerializer
from .idempotency import idempotent
from .views import error_responses

# --- serializers (parse and present; the actions decide) -------------------------------


class WorkloadBindingSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="service_slug")

    class Meta:
        model = WorkloadIdentityBinding
        fields = [
            "id",
            "repository",
            "repository_id",
            "repository_owner_id",
            "ref_pattern",
            "environment_pattern",
            "service",
            "scopes",
            "created_at",
        ]
        read_only_fields = fields


class WorkloadBindingWriteSerializer(StrictSerializer):
    repository = serializers.RegexField(
        r"\A[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\Z",  # actions.REPOSITORY_PATTERN, exactly
        max_length=200,
        trim_whitespace=False,
        error_messages={"invalid": 'Name the repository as "owner/name"'},
        help_text='GitHub "owner/name"',
    )
    repository_id = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        help_text="GitHub's id of the repository (`gh api repos/OWNER/NAME --jq .id`); "
        "unset: pinned by the first exchange",
    )
    repository_owner_id = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        help_text="GitHub's id of its owner (`--jq .owner.id`); unset: pinned by the first "
        "exchange",
    )
    ref_pattern = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="e.g. refs/heads/main"
    )
    environment_pattern = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="e.g. prod*"
    )
    service = serializers.CharField(
        max_length=63, required=False, allow_blank=True, help_text="Catalog service slug"
    )
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SERVICE_ACCOUNT_SCOPES),
        required=False,
        min_length=1,
        help_text="read and/or write (default both)",
    )


class ServiceAccountSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    team = serializers.CharField(source="team.slug")
    created_by = serializers.SerializerMethodField()
    enabled = serializers.SerializerMethodField()
    workload_bindings = WorkloadBindingSerializer(many=True)

    class Meta:
        model = ServiceAccount
        fields = [
            "name",
            "username",
            "team",
            "description",
            "role",
            "enabled",
            "created_by",
            "created_at",
            "disabled_at",
            "workload_bindings",
        ]
        read_only_fields = fields

    def get_created_by(self, obj: ServiceAccount) -> str | None:
        return obj.created_by.get_username() if obj.created_by else None

    def get_enabled(self, obj: ServiceAccount) -> bool:
        return obj.disabled_at is None


class ServiceAccountCreateSerializer(StrictSerializer):
    name = SlugRuleField(max_length=actions.NAME_MAX, help_text="A slug, e.g. ci")
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    role = serializers.ChoiceField(
        choices=[(r.value, r.label) for r in SERVICE_ACCOUNT_ROLES], default=Role.MEMBER
    )


class ServiceAccountUpdateSerializer(StrictSerializer):
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    role = serializers.ChoiceField(
        choices=[(r.value, r.label) for r in SERVICE_ACCOUNT_ROLES], required=False
    )
    enabled = serializers.BooleanField(required=False)


class ServiceAccountTokenCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, default="default")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SERVICE_ACCOUNT_SCOPES),
        required=False,
        min_length=1,
        help_text="read and/or write (default both); never approve",
    )
    expires_in = LifetimeField(required=False, help_text="30d, 12h, 2w or a number of days")


class GitHubOIDCExchangeSerializer(StrictSerializer):
    token = serializers.CharField(help_text="The job's OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL)")


class PlatformTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Use as Authorization: Bearer; shown once")
    expires_at = serializers.DateTimeField()
    service_account = serializers.CharField()
    team = serializers.CharField()
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=TokenScope.choices))
    service = serializers.CharField(help_text="The bound catalog service slug, if any")


# --- lookups: only through for_user; another team's objects are 404 ------------------


def _team(request: Request, slug: str) -> Team:
    return get_object_or_404(Team.objects.for_user(request.user), slug=slug)


def _account(request: Request, slug: str, name: str) -> ServiceAccount:
    return get_object_or_404(
        ServiceAccount.objects.for_user(request.user)
        .select_related("user", "team", "created_by")
        .prefetch_related("workload_bindings"),
        team__slug=slug,
        name=name,
    )


def _present(account: ServiceAccount) -> dict[str, Any]:
    return dict(ServiceAccountSerializer(account).data)


# --- views -----------------------------------------------------------------------------


class ServiceAccountListView(APIView):
    @extend_schema(
        responses={200: ServiceAccountSerializer(many=True), **error_responses(401, 404)}
    )
    def get(self, request: Request, slug: str) -> Response:
        """The team's service accounts (every member of the team sees them)."""
        team = _team(request, slug)
        accounts = (
            ServiceAccount.objects.for_user(request.user)
            .filter(team=team)
            .select_related("user", "team", "created_by")
            .prefetch_related("workload_bindings")
        )
        return Response(ServiceAccountSerializer(accounts, many=True).data)

    @idempotent
    @extend_schema(
        request=ServiceAccountCreateSerializer,
        responses={201: ServiceAccountSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, slug: str) -> Response:
        """Create a service account for the team (maintainers)."""
        team = _team(request, slug)
        serializer = ServiceAccountCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account = actions.create_service_account(
            team,
            data["name"],
            description=data.get("description", ""),
            role=data["role"],
            actor=request.user,
        )
        return Response(_present(account), status=status.HTTP_201_CREATED)


class ServiceAccountDetailView(APIView):
    @extend_schema(responses={200: ServiceAccountSerializer, **error_responses(401, 404)})
    def get(self, request: Request, slug: str, name: str) -> Response:
        """One service account with its repository bindings."""
        return Response(_present(_account(request, slug, name)))

    @idempotent
    @extend_schema(
        request=ServiceAccountUpdateSerializer,
        responses={200: ServiceAccountSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, slug: str, name: str) -> Response:
        """Change the description or role, or disable/enable it (maintainers)."""
        account = _account(request, slug, name)
        serializer = ServiceAccountUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        actions.update_service_account(
            account, description=data.get("description"), role=data.get("role"), actor=request.user
        )
        if "enabled" in data:
            actions.set_service_account_enabled(account, data["enabled"], actor=request.user)
        return Response(_present(_account(request, slug, name)))

    @idempotent
    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request: Request, slug: str, name: str) -> Response:
        """Disable the service account (kept, with its audit trail; its tokens stop)."""
        actions.set_service_account_enabled(
            _account(request, slug, name), False, actor=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ServiceAccountTokenListView(APIView):
    @extend_schema(responses={200: s.APITokenSerializer(many=True), **error_responses(401, 404)})
    def get(self, request: Request, slug: str, name: str) -> Response:
        """The service account's tokens (values are never shown again)."""
        account = _account(request, slug, name)
        tokens = APIToken.objects.filter(user=account.user).select_related("team")
        return Response(s.APITokenSerializer(tokens, many=True).data)

    @idempotent
    @extend_schema(
        request=ServiceAccountTokenCreateSerializer,
        responses={201: s.APITokenCreatedSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, slug: str, name: str) -> Response:
        """Create a token of the service account (maintainers; a service account only its
        own); its value is shown once. Made with a token, it never outlives it (expires_in
        is capped at that token's expiry) nor has a scope it lacks (403)."""
        account = _account(request, slug, name)
        serializer = ServiceAccountTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lifetime = data.get("expires_in")
        token, raw = actions.create_service_account_token(
            account,
            name=data["name"],
            scopes=data.get("scopes"),
            lifetime=services.parse_token_lifetime(lifetime) if lifetime else None,
            actor=request.user,
        )
        body = s.APITokenCreatedSerializer(token, context={"raw_token": raw}).data
        return Response(body, status=status.HTTP_201_CREATED)


class ServiceAccountTokenDetailView(APIView):
    @idempotent
    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request: Request, slug: str, name: str, pk: int) -> Response:
        """Revoke one of the service account's tokens (maintainers)."""
        account = _account(request, slug, name)
        token = get_object_or_404(APIToken, pk=pk, user=account.user)
        actions.revoke_service_account_token(account, token, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkloadBindingListView(APIView):
    @idempotent
    @extend_schema(
        request=WorkloadBindingWriteSerializer,
        responses={201: WorkloadBindingSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, slug: str, name: str) -> Response:
        """Trust GitHub Actions OIDC tokens of a repository as this service account (people
        who maintain the team; never a service account). The binding is pinned to GitHub's
        repository and owner ids, given here or taken from the first exchange; a repository
        another team has bound answers 400."""
        account = _account(request, slug, name)
        serializer = WorkloadBindingWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        binding = actions.bind_github_repository(
            account,
            data["repository"],
            ref_pattern=data.get("ref_pattern", ""),
            environment_pattern=data.get("environment_pattern", ""),
            service_slug=data.get("service", ""),
            scopes=data.get("scopes"),
            repository_id=data.get("repository_id"),
            repository_owner_id=data.get("repository_owner_id"),
            actor=request.user,
        )
        return Response(WorkloadBindingSerializer(binding).data, status=status.HTTP_201_CREATED)


class WorkloadBindingDetailView(APIView):
    @idempotent
    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request: Request, slug: str, name: str, pk: int) -> Response:
        """Stop trusting the repository; tokens issued through it are revoked."""
        account = _account(request, slug, name)
        binding = get_object_or_404(WorkloadIdentityBinding, pk=pk, service_account=account)
        actions.unbind(binding, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GitHubOIDCExchangeView(APIView):
    """Trade a GitHub Actions OIDC token for a short-lived platform token."""

    # The OIDC token is the credential: no session, no bearer token, no CSRF.
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        auth=[],
        request=GitHubOIDCExchangeSerializer,
        responses={
            200: PlatformTokenSerializer,
            **error_responses(400),
            401: OpenApiResponse(s.ErrorSerializer, description="The OIDC token is not valid"),
            403: OpenApiResponse(
                s.ErrorSerializer, description="No service account trusts the repository"
            ),
            503: OpenApiResponse(s.ErrorSerializer, description="The issuer's keys are down"),
        },
    )
    def post(self, request: Request) -> Response:
        """The job's OIDC token (issuer IDP_GITHUB_OIDC_ISSUER, audience
        IDP_GITHUB_OIDC_AUDIENCE) from a repository bound to a service account gives a
        token of that account, limited to its team, valid IDP_GITHUB_OIDC_TOKEN_MINUTES."""
        serializer = GitHubOIDCExchangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        exchange = workload_identity.exchange_github_oidc_token(serializer.validated_data["token"])
        account = exchange.binding.service_account
        body = {
            "token": exchange.raw,
            "expires_at": exchange.token.expires_at,
            "service_account": account.username,
            "team": account.team.slug,
            "scopes": exchange.token.scopes,
            "service": exchange.binding.service_slug,
        }
        return Response(PlatformTokenSerializer(body).data)
