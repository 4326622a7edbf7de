"""/api/v1/resources/ and /api/v1/runs/: thin handlers over provisioning.services."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from idp.api.fields import int_query
from idp.api.idempotency import IDEMPOTENCY_KEY, idempotent
from idp.api.schema import int_param
from idp.api.views import error_responses
from idp.rbac import signed_in_user

from .. import actions
from ..access import resource_list_queryset, resource_queryset, run_queryset
from ..actions.requests import replayed
from ..actions.resource_access import access_seen_by
from ..actions.results import PlanStarted
from ..filtersets import ResourceFilterSet, RunFilterSet
from ..models import Resource, Run
from . import serializers as s

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Repeat a request safely: the same key from the same user gives the same "
    "resource. The request that made it answers 201; every repeat, also one sent while the "
    "first was still in flight, answers 200 with that resource (never a second resource, "
    "never a 409 for the key itself).",
)
RUN_ACCEPTED = OpenApiResponse(s.RunSerializer, description="The run queued for this change")


@extend_schema_view(
    list=extend_schema(
        responses={200: s.ResourceListSerializer(many=True), **error_responses(400, 401)},
    ),
    retrieve=extend_schema(
        responses={200: s.ResourceDetailSerializer, **error_responses(401, 404)}
    ),
)
class ResourceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Your teams' resources: request, change, approve, re-plan, retry, upgrade, destroy,
    archive. Lists leave archived resources out unless `archived=true`."""

    filterset_class = ResourceFilterSet
    search_fields = ["name", "template__slug", "service__slug", "team__slug"]
    ordering_fields = ["created_at", "updated_at", "name", "status"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    queryset = Resource.objects.none()

    def get_queryset(self) -> QuerySet[Resource]:
        if self.action == "list":
            return resource_list_queryset(self.request.user)
        return resource_queryset(self.request.user)

    def filter_queryset(self, queryset: Any) -> Any:
        # Filters shape lists; a resource named by its id is found whatever they would leave
        # out (an archived one included).
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self) -> Any:
        return s.ResourceListSerializer if self.action == "list" else s.ResourceDetailSerializer

    def _detail(self, resource: Resource, code: int = status.HTTP_200_OK) -> Response:
        resource = get_object_or_404(self.get_queryset(), pk=resource.pk)
        context = {
            "request": self.request,
            "allowed_actions": actions.allowed_actions(resource, self.request.user),
        }
        return Response(s.ResourceDetailSerializer(resource, context=context).data, status=code)

    def _queued(self, started: PlanStarted) -> Response:
        """202 with the plan the action queued."""
        return Response(s.RunSerializer(started.run).data, status=status.HTTP_202_ACCEPTED)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._detail(self.get_object())

    @extend_schema(
        request=s.ResourceCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: OpenApiResponse(
                s.ResourceDetailSerializer, description="Requested; a plan is queued"
            ),
            200: OpenApiResponse(
                s.ResourceDetailSerializer,
                description="Repeated Idempotency-Key: the same resource",
            ),
            **error_responses(400, 401, 403, 409),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Request a resource: validates the parameters and queues its first plan.

        With an Idempotency-Key the request that made the resource answers 201 and every
        repeat of the key answers 200 with the same resource, however the requests race."""
        key = request.headers.get("Idempotency-Key")
        existing = replayed(signed_in_user(request.user), key)
        if existing is not None:
            return self._detail(existing, status.HTTP_200_OK)
        serializer = s.ResourceCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        requested = actions.request_resource(
            actor=request.user,
            template=data["template"],
            version=data.get("version"),
            team=data["team"],
            environment=data["environment"],
            name=data["name"],
            parameters=data.get("parameters") or {},
            service=data.get("service"),
            expires_at=data.get("expires_at"),
            idempotency_key=key,
        )
        code = status.HTTP_201_CREATED if requested.created else status.HTTP_200_OK
        return self._detail(requested.resource, code)

    @idempotent
    @extend_schema(
        request=s.ParametersSerializer,
        responses={202: RUN_ACCEPTED, **error_responses(400, 401, 403, 404, 409)},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change the parameters: a new plan under the same approval rules."""
        resource = self.get_object()
        serializer = s.ParametersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        started = actions.change_parameters(
            resource, serializer.validated_data["parameters"], actor=request.user
        )
        return self._queued(started)

    @idempotent
    @extend_schema(
        request=None, responses={202: RUN_ACCEPTED, **error_responses(401, 403, 404, 409)}
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Request the destruction: a destroy plan under the same approval rules. Maintainers
        may, members too where the environment allows it; only a resource that was applied."""
        return self._queued(actions.request_destroy(self.get_object(), actor=request.user))

    @idempotent
    @extend_schema(
        request=s.ReasonSerializer,
        responses={200: s.ApprovalSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve the pending plan (team maintainers and platform admins, never one who
        changed it); its apply is queued once the environment's approvals are in."""
        resource = self.get_object()
        serializer = s.ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decision = actions.approve(resource, actor=request.user, **serializer.validated_data)
        return Response(s.ApprovalSerializer(decision.approval).data)

    @idempotent
    @extend_schema(
        request=s.RejectSerializer,
        responses={200: s.ApprovalSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """Reject the pending plan with a reason."""
        resource = self.get_object()
        serializer = s.RejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decision = actions.reject(resource, actor=request.user, **serializer.validated_data)
        return Response(s.ApprovalSerializer(decision.approval).data)

    @idempotent
    @extend_schema(
        request=s.BreakGlassSerializer,
        responses={200: s.ApprovalSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="break-glass")
    def break_glass(self, request: Request, pk: str | None = None) -> Response:
        """Platform admins only: approve the pending plan alone (four eyes overridden), with
        a reason; audited as `resource.break_glass` and marked on the resource."""
        resource = self.get_object()
        serializer = s.BreakGlassSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decision = actions.break_glass(resource, actor=request.user, **serializer.validated_data)
        return Response(s.ApprovalSerializer(decision.approval).data)

    @idempotent
    @extend_schema(
        request=s.OverridePolicySerializer,
        responses={200: s.ResourceDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], url_path="override-policy")
    def override_policy(self, request: Request, pk: str | None = None) -> Response:
        """Platform admins only: let a plan past the `mandatory-overridable` policies it
        fails, with a reason (audited as `resource.policy_overridden`, shown with the plan);
        the plan then needs its approvals as usual. 409 when a mandatory policy fails."""
        resource = self.get_object()
        serializer = s.OverridePolicySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        overridden = actions.override_policy(
            resource, actor=request.user, **serializer.validated_data
        )
        return self._detail(overridden.resource)

    @idempotent
    @extend_schema(
        request=None,
        responses={200: s.ResourceDetailSerializer, **error_responses(401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """Withdraw the proposed change awaiting approval (it is discarded)."""
        withdrawn = actions.withdraw(self.get_object(), actor=request.user)
        return self._detail(withdrawn.resource)

    @idempotent
    @extend_schema(
        request=None,
        responses={200: s.ResourceDetailSerializer, **error_responses(401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str | None = None) -> Response:
        """Archive a failed or rejected request: it leaves the lists (`?archived=true` shows
        it), stays reachable by id and in the audit log. 409 for any other resource."""
        archived = actions.archive(self.get_object(), actor=request.user)
        return self._detail(archived.resource)

    @idempotent
    @extend_schema(
        request=None,
        responses={200: s.ResourceDetailSerializer, **error_responses(401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def unarchive(self, request: Request, pk: str | None = None) -> Response:
        """Bring an archived resource back into the lists."""
        unarchived = actions.unarchive(self.get_object(), actor=request.user)
        return self._detail(unarchived.resource)

    @idempotent
    @extend_schema(
        request=None, responses={202: RUN_ACCEPTED, **error_responses(401, 403, 404, 409)}
    )
    @action(detail=True, methods=["post"])
    def plan(self, request: Request, pk: str | None = None) -> Response:
        """Plan again with the current parameters and version."""
        return self._queued(actions.replan(self.get_object(), actor=request.user))

    @idempotent
    @extend_schema(
        request=None, responses={202: RUN_ACCEPTED, **error_responses(401, 403, 404, 409)}
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Retry the failed run."""
        return self._queued(actions.retry(self.get_object(), actor=request.user))

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={200: s.AccessSerializer, **error_responses(401, 404)},
    )
    @extend_schema(
        methods=["PUT"],
        request=s.AccessSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.AccessSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["get", "put"])
    def access(self, request: Request, pk: str | None = None) -> Response:
        """Resource-level permissions. GET: who beyond the team's roles may act on the
        resource and which teams it is shared with. PUT (team admins): replace both; a
        restricted resource is changed, approved and destroyed only by the role floor and
        the people named; a share lets another team see it (`read`) or also take its
        outputs as a dependency (`use`)."""
        resource = self.get_object()
        if request.method == "GET":
            return Response(access_seen_by(resource, request.user).as_json())
        return self._set_access(request, resource)

    @idempotent
    def _set_access(self, request: Request, resource: Resource) -> Response:
        serializer = s.AccessSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        access = actions.set_access(
            resource,
            actor=request.user,
            restricted_to=data.get("restricted_to"),
            shared_with=data.get("shared_with") or [],
        )
        return Response(access.as_json())

    @idempotent
    @extend_schema(
        request=s.UpgradeSerializer,
        responses={202: RUN_ACCEPTED, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def upgrade(self, request: Request, pk: str | None = None) -> Response:
        """Plan the move to another template version (default: the current one)."""
        resource = self.get_object()
        serializer = s.UpgradeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        started = actions.upgrade(
            resource, serializer.validated_data.get("version"), actor=request.user
        )
        return self._queued(started)


@extend_schema_view(
    list=extend_schema(responses={200: s.RunSerializer(many=True), **error_responses(400, 401)}),
    retrieve=extend_schema(responses={200: s.RunDetailSerializer, **error_responses(401, 404)}),
)
class RunViewSet(viewsets.ReadOnlyModelViewSet):
    """Terraform runs of your teams' resources, their logs, and cancellation."""

    filterset_class = RunFilterSet
    ordering_fields = ["created_at", "started_at", "finished_at"]
    ordering = ["-created_at", "-id"]
    search_fields: list[str] = []
    queryset = Run.objects.none()

    def get_queryset(self) -> QuerySet[Run]:
        return run_queryset(self.request.user)

    def get_serializer_class(self) -> Any:
        return s.RunSerializer if self.action == "list" else s.RunDetailSerializer

    @idempotent
    @extend_schema(
        request=None, responses={200: s.RunSerializer, **error_responses(401, 403, 404, 409)}
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel a queued or running run (Terraform stops at its next safe point)."""
        stopped = actions.cancel_run(self.get_object(), actor=request.user)
        return Response(s.RunSerializer(stopped.run).data)

    @extend_schema(
        parameters=[
            int_param("offset", "Characters already read (0 = start)", minimum=0),
            int_param("limit", "At most this many characters (0 = the default)", minimum=0),
        ],
        responses={200: s.RunLogSerializer, **error_responses(400, 401, 404)},
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def log(self, request: Request, pk: str | None = None) -> Response:
        """The run's log from `offset`; poll with `next_offset` until `complete`."""
        run = self.get_object()
        offset = int_query(request, "offset", default=0, minimum=0)
        limit = int_query(request, "limit", default=0, minimum=0)  # 0: the default
        text, next_offset, complete = actions.read_run_log(run, offset=offset, limit=limit)
        return Response({"text": text, "next_offset": next_offset, "complete": complete})
