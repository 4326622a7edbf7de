"""/api/v1/deployments/ and /api/v1/runtimes/: deploy, promote, roll back, decide, read
logs; bind a service's environment to its runtime."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Service
from idp.api.idempotency import idempotent
from idp.api.views import error_responses
from idp.models import Environment
from idp.services import ServiceError
from provisioning.models import Resource

from ..deployments import actions
from ..deployments.logs import read_log
from ..models import RuntimeBinding
from . import deployment_serializers as s


def _service(user: Any, slug: str) -> Service:
    """A service the user can see; another team's (or none) is 404."""
    service = Service.objects.for_user(user).select_related("team").filter(slug=slug).first()
    if service is None:
        raise NotFound(f"No service {slug!r}.")
    return service


def _environment(slug: str) -> Environment:
    env = Environment.objects.filter(slug=slug).first()
    if env is None:
        raise ServiceError(f"No environment {slug!r}.", field="environment")
    return env


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("service", str, description="Only this service's deployments"),
            OpenApiParameter("environment", str, description="Only deployments to this one"),
        ],
        responses={200: s.DeploymentSerializer(many=True), **error_responses(401)},
    ),
    retrieve=extend_schema(
        responses={200: s.DeploymentDetailSerializer, **error_responses(401, 404)}
    ),
)
class DeploymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Deployments of your teams' services: what the platform put on which runtime, newest
    first; create one (or a promotion), roll back, approve or reject."""

    filterset_fields = ["status", "kind"]
    ordering_fields = ["created_at", "finished_at"]
    queryset = actions.Deployment.objects.none()

    def get_queryset(self) -> Any:
        qs = actions.visible(self.request.user)
        params = self.request.query_params
        if params.get("service"):
            qs = qs.filter(service__slug=params["service"])
        if params.get("environment"):
            qs = qs.filter(environment__slug=params["environment"])
        return qs

    def get_serializer_class(self) -> Any:
        return s.DeploymentSerializer if self.action == "list" else s.DeploymentDetailSerializer

    def get_object(self) -> Any:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def _answer(self, requested: actions.Requested) -> Response:
        deployment = actions.visible(self.request.user).get(pk=requested.deployment.pk)
        code = status.HTTP_202_ACCEPTED
        return Response(s.DeploymentDetailSerializer(deployment).data, status=code)

    @idempotent
    @extend_schema(
        request=s.DeploymentCreateSerializer,
        responses={202: s.DeploymentDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Deploy an artifact ({service, environment, artifact, commit, version}) or promote
        a deployment ({service, environment, promote_from}). 202: queued, or awaiting the
        environment's approval (`status`)."""
        data = s.DeploymentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        service = _service(request.user, v["service"])
        shape = data.shape_errors()
        if shape:
            raise ServiceError("Invalid deployment", errors=shape)
        environment = _environment(v["environment"])
        if "promote_from" in v:
            source = actions.visible(request.user).filter(pk=v["promote_from"]).first()
            if source is None or source.service_id != service.pk:
                raise ServiceError(
                    f"No deployment {v['promote_from']} of {service.slug}.", field="promote_from"
                )
            requested = actions.promote(
                source, environment, reason=v.get("reason", ""), actor=request.user
            )
        else:
            requested = actions.request_deployment(
                service,
                environment,
                artifact=v["artifact"],
                commit=v["commit"],
                version=v.get("version", ""),
                reason=v.get("reason", ""),
                actor=request.user,
            )
        return self._answer(requested)

    @idempotent
    @extend_schema(
        request=s.DecisionSerializer,
        responses={202: s.DeploymentDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk: str | None = None) -> Response:
        """Deploy the last good artifact before this (running) deployment again."""
        data = s.DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        requested = actions.rollback(
            self.get_object(), reason=data.validated_data.get("reason", ""), actor=request.user
        )
        return self._answer(requested)

    @idempotent
    @extend_schema(
        request=s.DecisionSerializer,
        responses={200: s.DeploymentDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve a deployment awaiting approval (four eyes: never its triggerer)."""
        data = s.DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = actions.approve(
            self.get_object(), reason=data.validated_data.get("reason", ""), actor=request.user
        )
        return Response(s.DeploymentDetailSerializer(deployment).data)

    @idempotent
    @extend_schema(
        request=s.DecisionSerializer,
        responses={200: s.DeploymentDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """Reject a deployment awaiting approval (a reason is required)."""
        data = s.DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = actions.reject(
            self.get_object(), reason=data.validated_data.get("reason", ""), actor=request.user
        )
        return Response(s.DeploymentDetailSerializer(deployment).data)

    @extend_schema(
        parameters=[OpenApiParameter("offset", int, description="Character offset to read from")],
        responses={200: s.DeploymentLogSerializer, **error_responses(401, 404)},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def log(self, request: Request, pk: str | None = None) -> Response:
        """A page of the log from `offset`; `complete` once the deployment is over."""
        deployment = self.get_object()
        try:
            offset = max(0, int(request.query_params.get("offset", "0")))
        except ValueError as exc:
            raise ServiceError("Give a whole number.", field="offset") from exc
        text, next_offset, complete = read_log(deployment, offset)
        return Response(
            {
                "text": text,
                "next_offset": next_offset,
                "complete": complete,
                "status": deployment.status,
            }
        )


@extend_schema_view(
    list=extend_schema(
        responses={200: s.RuntimeBindingSerializer(many=True), **error_responses(401)}
    ),
)
class RuntimeBindingViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Which live resource each service runs on, per environment."""

    queryset = RuntimeBinding.objects.none()
    serializer_class = s.RuntimeBindingSerializer

    def get_queryset(self) -> Any:
        qs = RuntimeBinding.objects.for_user(self.request.user).select_related(
            "service", "environment"
        )
        service = self.request.query_params.get("service")
        return qs.filter(service__slug=service) if service else qs

    @idempotent
    @extend_schema(
        request=s.RuntimeBindingCreateSerializer,
        responses={201: s.RuntimeBindingSerializer, **error_responses(400, 401, 403, 404)},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Bind a service's environment to one of its live resources (maintainers)."""
        data = s.RuntimeBindingCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        service = _service(request.user, v["service"])
        resource = Resource.objects.for_user(request.user).filter(pk=v["resource"]).first()
        if resource is None:
            raise ServiceError(f"No resource {v['resource']}.", field="resource")
        binding = actions.bind_runtime(
            service, _environment(v["environment"]), resource, v["kind"], actor=request.user
        )
        return Response(s.RuntimeBindingSerializer(binding).data, status=status.HTTP_201_CREATED)
