from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import scopes as token_scopes
from .. import services
from ..models import APIToken, AuditEvent, Environment, Membership, ServiceAccount, Team
from ..rbac import has_team_perm, is_platform_admin, signed_in_user
from . import serializers as s
from .fields import UTCDateTimeFilter
from .idempotency import idempotent

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Bad input"),
    401: OpenApiResponse(s.ErrorSerializer, description="Not signed in"),
    403: OpenApiResponse(s.ErrorSerializer, description="Not allowed"),
    404: OpenApiResponse(s.ErrorSerializer, description="Not found (or not yours)"),
    409: OpenApiResponse(s.ErrorSerializer, description="Conflict with the current state"),
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: ERRORS[code] for code in codes}


def require_team_perm(user: Any, team: Team, perm: str) -> None:
    if not has_team_perm(user, team, perm):
        raise PermissionDenied(f"Your role in team {team.slug} does not allow this.")


class MeView(APIView):
    @extend_schema(responses={200: s.MeSerializer, **error_responses(401)})
    def get(self, request: Request) -> Response:
        """The signed-in user and their teams with roles."""
        memberships = Membership.objects.filter(user=signed_in_user(request.user)).select_related(
            "team"
        )
        token = request.auth if isinstance(request.auth, APIToken) else None
        if token is not None and token.team_id is not None:
            memberships = memberships.filter(team_id=token.team_id)
        teams = list(memberships)
        account = ServiceAccount.of(request.user)
        if account is not None:
            # A service account's one team and role are on the account, not a membership.
            teams = [Membership(team=account.team, role=account.role)]
        data = {
            "user": request.user,
            "is_platform_admin": is_platform_admin(request.user),
            "teams": teams,
            "service_account": (
                {"team": account.team.slug, "role": account.role} if account else None
            ),
            "token": token,
        }
        return Response(s.MeSerializer(data).data)


@extend_schema_view(
    list=extend_schema(responses={200: s.TeamSerializer(many=True), **error_responses(401)}),
    retrieve=extend_schema(responses={200: s.TeamDetailSerializer, **error_responses(401, 404)}),
    create=extend_schema(
        request=s.TeamCreateSerializer,
        responses={201: s.TeamDetailSerializer, **error_responses(400, 401, 403, 409)},
    ),
    partial_update=extend_schema(
        request=s.TeamUpdateSerializer,
        responses={200: s.TeamDetailSerializer, **error_responses(400, 401, 403, 404)},
    ),
)
class TeamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Teams you belong to (platform admins: all teams)."""

    lookup_field = "slug"
    search_fields = ["slug", "name"]
    ordering_fields = ["slug", "name", "created_at"]
    filterset_fields = ["slug"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        qs = (
            Team.objects.for_user(self.request.user)
            .annotate(member_count=Count("memberships"))
            .order_by("slug")
        )
        if self.action != "list":
            qs = qs.prefetch_related(
                Prefetch("memberships", queryset=Membership.objects.select_related("user"))
            )
        return qs

    def get_serializer_class(self) -> Any:
        if self.action == "list":
            return s.TeamSerializer
        if self.action == "create":
            return s.TeamCreateSerializer
        if self.action == "partial_update":
            return s.TeamUpdateSerializer
        return s.TeamDetailSerializer

    def _detail(self, slug: str, code: int) -> Response:
        team = self.get_queryset().get(slug=slug)
        return Response(
            s.TeamDetailSerializer(team, context={"request": self.request}).data, status=code
        )

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not is_platform_admin(request.user):
            raise PermissionDenied("Only platform admins create teams.")
        serializer = s.TeamCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = services.create_team(actor=request.user, **serializer.validated_data)
        return self._detail(team.slug, status.HTTP_201_CREATED)

    @idempotent
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        team = self.get_object()
        require_team_perm(request.user, team, "manage_team")
        serializer = s.TeamUpdateSerializer(team, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.update_team(team, actor=request.user, **serializer.validated_data)
        return self._detail(team.slug, status.HTTP_200_OK)

    @idempotent
    @extend_schema(
        request=s.MembershipWriteSerializer,
        responses={201: s.MembershipSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"], url_path="members")
    def add_member(self, request: Request, slug: str | None = None) -> Response:
        """Add an existing user as a member (or change their role); team admins only.

        Unknown usernames answer 400: platform admins create users, SSO users appear on
        their first sign-in.
        """
        team = self.get_object()
        require_team_perm(request.user, team, "manage_team")
        serializer = s.MembershipWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        membership = services.add_member(team, data["username"], data["role"], actor=request.user)
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @idempotent
    @extend_schema(
        methods=["patch"],
        request=s.MembershipRoleSerializer,
        responses={200: s.MembershipSerializer, **error_responses(400, 401, 403, 404)},
    )
    @extend_schema(methods=["delete"], responses={204: None, **error_responses(401, 403, 404, 409)})
    @action(detail=True, methods=["patch", "delete"], url_path=r"members/(?P<username>[^/]+)")
    def member(self, request: Request, slug: str | None = None, username: str = "") -> Response:
        """Change a member's role, or remove them; team admins only."""
        team = self.get_object()
        require_team_perm(request.user, team, "manage_team")
        membership = get_object_or_404(
            Membership.objects.select_related("user"), team=team, user__username=username
        )
        if request.method == "DELETE":
            services.remove_membership(team, membership.user, actor=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = s.MembershipRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.set_membership(
            team, membership.user, serializer.validated_data["role"], actor=request.user
        )
        return Response(s.MembershipSerializer(membership).data)


@extend_schema_view(
    list=extend_schema(responses={200: s.EnvironmentSerializer(many=True), **error_responses(401)}),
    retrieve=extend_schema(responses={200: s.EnvironmentSerializer, **error_responses(401, 404)}),
)
class EnvironmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Deployment environments (every signed-in user may list them)."""

    queryset = Environment.objects.all()
    serializer_class = s.EnvironmentSerializer
    lookup_field = "slug"
    pagination_class = None
    filter_backends: list[Any] = []


class AuditEventFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug")
    actor = django_filters.CharFilter(field_name="actor_name")
    action = django_filters.CharFilter(field_name="action", lookup_expr="startswith")
    since = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["team", "actor", "action", "target_type", "target_id", "since", "until"]


@extend_schema_view(
    get=extend_schema(responses={200: s.AuditEventSerializer(many=True), **error_responses(401)})
)
class AuditEventList(generics.ListAPIView):
    """The audit log, newest first.

    Platform admins see every event; team admins see their teams' events. Anyone else
    gets 200 with an empty list (not 403): the log is scoped like every team-owned list,
    so a member simply has no events to see.
    """

    serializer_class = s.AuditEventSerializer
    filterset_class = AuditEventFilter
    ordering_fields = ["created_at"]
    search_fields = ["action", "actor_name", "target_repr"]

    def get_queryset(self) -> Any:
        return AuditEvent.objects.for_user(self.request.user, "manage_team").select_related("team")


@extend_schema_view(
    list=extend_schema(responses={200: s.APITokenSerializer(many=True), **error_responses(401)}),
    create=extend_schema(
        request=s.APITokenCreateSerializer,
        responses={201: s.APITokenCreatedSerializer, **error_responses(400, 401, 403)},
    ),
    destroy=extend_schema(responses={204: None, **error_responses(401, 404)}),
)
class APITokenViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your personal API tokens. The token value is returned once, at creation."""

    serializer_class = s.APITokenSerializer
    filter_backends: list[Any] = []
    queryset = APIToken.objects.none()

    def get_queryset(self) -> Any:
        return APIToken.objects.filter(user=signed_in_user(self.request.user))

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = s.APITokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team = None
        if data.get("team"):
            team = Team.objects.for_user(request.user).filter(slug=data["team"]).first()
            if team is None:
                raise services.ServiceError(f"No team {data['team']!r} of yours", field="team")
        lifetime = data.get("expires_in")
        owner = signed_in_user(request.user)
        token, raw = services.create_api_token(
            owner,
            name=data["name"],
            # Unasked: read only (a service account's: what it may have).
            scopes=token_scopes.asked_or_default(
                data.get("scopes"), service_account=ServiceAccount.of(owner) is not None
            ),
            lifetime=services.parse_token_lifetime(lifetime) if lifetime else None,
            team=team,
            # Made through a token, it gets no more than that token (create_api_token).
            actor=request.user,
        )
        data = s.APITokenCreatedSerializer(token, context={"raw_token": raw}).data
        return Response(data, status=status.HTTP_201_CREATED)

    @idempotent
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.revoke_api_token(self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
