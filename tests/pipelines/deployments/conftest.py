"""Deployment fixtures: a Lambda function and a site bucket on the local AWS API (moto over
HTTP), the team's artifact bucket, resources for them bound as the service's runtimes."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from catalog.models import Service, Template
from idp.models import Environment
from pipelines.choices import RuntimeKind
from pipelines.deployments import actions
from pipelines.models import RuntimeBinding

from ...helpers import make_resource

REGION = "eu-west-1"
ACCOUNT = "123456789012"
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/idp-deploy"
ARTIFACTS = "idp-artifacts-payments"
SITE_BUCKET = "payments-site-dev"


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def client(service: str, url: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url)  # type: ignore[call-overload]


@dataclass
class World:
    url: str
    service: Service
    envs: dict[str, Environment]
    lambdas: dict[str, str]  # environment slug -> function name
    bindings: dict[str, RuntimeBinding]

    def upload(self, key: str, data: bytes) -> str:
        client("s3", self.url).put_object(Bucket=ARTIFACTS, Key=key, Body=data)
        return f"s3://{ARTIFACTS}/{key}"

    def lambda_client(self) -> Any:
        return client("lambda", self.url)


@pytest.fixture
def world(
    aws: str,
    payments_service: Service,
    environments: dict[str, Environment],
    bob: Any,
) -> World:
    """Dev, staging and prod each assume the deploy role; payments-api has a Lambda function
    bound in every environment and a site bucket bound in dev (the s3-site runtime of a second
    service would do the same)."""
    for env in environments.values():
        env.aws_role_arn = DEPLOY_ROLE
        env.aws_region = REGION
        env.save(update_fields=["aws_role_arn", "aws_region"])
    iam = client("iam", aws)
    role = iam.create_role(RoleName="payments-fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    s3 = client("s3", aws)
    for bucket in (ARTIFACTS, SITE_BUCKET):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    lambda_template, _ = Template.objects.get_or_create(
        slug="lambda-function", defaults={"title": "Lambda function", "category": "compute"}
    )
    lam = client("lambda", aws)
    lambdas, bindings = {}, {}
    for slug, env in environments.items():
        name = f"payments-api-{slug}"
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": zip_of({"app.py": "def handler(e, c):\n    return 'v0'\n"})},
        )
        resource = make_resource(
            payments_service.team,
            f"fn-{slug}",
            template=lambda_template,
            environment=env,
            service=payments_service,
            outputs={"function_name": name},
        )
        lambdas[slug] = name
        bindings[slug] = actions.bind_runtime(
            payments_service, env, resource, RuntimeKind.LAMBDA, actor=bob
        )
    return World(aws, payments_service, environments, lambdas, bindings)


@pytest.fixture
def site_service(
    world: World, make_service: Callable[..., Service], teams: dict[str, Any], bob: Any
) -> Service:
    """payments-web: a static site whose dev runtime is the site bucket."""
    service = make_service(teams["payments"], "payments-web")
    template, _ = Template.objects.get_or_create(
        slug="s3-bucket", defaults={"title": "S3 bucket", "category": "storage"}
    )
    resource = make_resource(
        service.team,
        "site-dev",
        template=template,
        environment=world.envs["dev"],
        service=service,
        outputs={"bucket_name": SITE_BUCKET},
    )
    actions.bind_runtime(service, world.envs["dev"], resource, RuntimeKind.S3_SITE, actor=bob)
    return service
