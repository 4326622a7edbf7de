"""State backend, AWS credentials and Parameter Store for runs.

State lives in S3 at `teams/<team>/<environment>/<resource id>.tfstate` with S3's own
lock file (`use_lockfile`). Terraform gets short-lived credentials through its
environment only: the environment's role through STS, else the default chain.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from idp.conf import setting

log = logging.getLogger(__name__)


def endpoint_for(environment: Any) -> str | None:
    """The AWS API the environment talks to: its own local endpoint, the platform's, or AWS."""
    return (getattr(environment, "aws_endpoint_url", "") or "") or settings.AWS_ENDPOINT_URL


def region_for(environment: Any) -> str:
    return (getattr(environment, "aws_region", "") or "") or settings.AWS_REGION


def state_key(resource: Any) -> str:
    return f"teams/{resource.team.slug}/{resource.environment.slug}/{resource.pk}.tfstate"


def state_bucket() -> str:
    return setting("IDP_STATE_BUCKET")


@functools.cache
def _default_session() -> boto3.Session:
    """The one boto3 session of this process, for every client here (making one costs
    ~15 ms); its default-chain credentials refresh themselves when they are temporary."""
    return boto3.Session()


def platform_client(service: str, region: str | None = None) -> Any:
    """A boto3 client for the platform's own account (state bucket, backups)."""
    # boto3-stubs type client() per literal service name; ours is chosen at run time.
    return _default_session().client(  # type: ignore[call-overload]
        service,
        region_name=region or settings.AWS_REGION,
        endpoint_url=settings.AWS_ENDPOINT_URL,
    )


def _hcl(value: str) -> str:
    # Values here are platform-made (slugs, ids, URLs); JSON quoting is a valid HCL string.
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def backend_tf(resource: Any) -> str:
    """The `backend.tf` of a run: S3 state, encrypted, with S3's lock file."""
    lines = [
        "terraform {",
        '  backend "s3" {',
        f"    bucket       = {_hcl(state_bucket())}",
        f"    key          = {_hcl(state_key(resource))}",
        f"    region       = {_hcl(settings.AWS_REGION)}",
        "    encrypt      = true",
        "    use_lockfile = true",
    ]
    endpoint = settings.AWS_ENDPOINT_URL
    if endpoint:
        lines += [
            f"    endpoints = {{ s3 = {_hcl(endpoint)} }}",
            "    use_path_style              = true",
            "    skip_credentials_validation = true",
            "    skip_requesting_account_id  = true",
            "    skip_metadata_api_check     = true",
            "    skip_region_validation      = true",
        ]
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def credentials_env(environment: Any, session_name: str) -> dict[str, str]:
    """AWS variables for Terraform's process: assumed-role credentials when the environment
    names a role, else whatever the default chain resolves (never written to a file)."""
    env: dict[str, str] = {
        "AWS_REGION": region_for(environment),
        "AWS_DEFAULT_REGION": region_for(environment),
    }
    endpoint = endpoint_for(environment)
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    role = getattr(environment, "aws_role_arn", "") or ""
    if role:
        sts = _default_session().client(
            "sts", region_name=region_for(environment), endpoint_url=endpoint
        )
        creds = sts.assume_role(
            RoleArn=role, RoleSessionName=session_name[:64], DurationSeconds=3600
        )["Credentials"]
        env.update(
            AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
            AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
            AWS_SESSION_TOKEN=creds["SessionToken"],
        )
        return env
    frozen = _default_session().get_credentials()
    if frozen is not None:
        current = frozen.get_frozen_credentials()
        env["AWS_ACCESS_KEY_ID"] = current.access_key or ""
        env["AWS_SECRET_ACCESS_KEY"] = current.secret_key or ""
        if current.token:
            env["AWS_SESSION_TOKEN"] = current.token
    return env


def resource_client(service: str, environment: Any, creds: dict[str, str]) -> Any:
    """A boto3 client acting in the resource's account with the run's credentials."""
    # boto3-stubs type client() per literal service name; ours is chosen at run time.
    return _default_session().client(  # type: ignore[call-overload]
        service,
        region_name=region_for(environment),
        endpoint_url=endpoint_for(environment),
        aws_access_key_id=creds.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=creds.get("AWS_SECRET_ACCESS_KEY")
        or os.environ.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=creds.get("AWS_SESSION_TOKEN") or None,
    )


def delete_state_lock(resource: Any) -> bool:
    """Remove Terraform's S3 lock file of the resource's state (its holder is gone);
    True when there was one to remove."""
    s3 = platform_client("s3")
    key = state_key(resource) + ".tflock"
    try:
        s3.head_object(Bucket=state_bucket(), Key=key)
    except (ClientError, BotoCoreError) as exc:
        log.info("no state lock to remove for resource %s: %s", resource.pk, exc)
        return False
    try:
        s3.delete_object(Bucket=state_bucket(), Key=key)
    except (ClientError, BotoCoreError) as exc:
        log.warning("state lock of resource %s not removed: %s", resource.pk, exc)
        return False
    return True


def ensure_state_bucket() -> dict[str, Any]:
    """Create the state bucket if missing: versioned, encrypted, public access blocked."""
    s3 = platform_client("s3")
    bucket = state_bucket()
    created = False
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if settings.AWS_REGION != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.AWS_REGION}
        s3.create_bucket(**kwargs)
        created = True
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    return {"bucket": bucket, "created": created}


# --- Parameter Store ---------------------------------------------------------------------


def parameter_prefix(resource: Any) -> str:
    service = resource.service.slug if resource.service_id else "-"
    return f"/idp/{resource.team.slug}/{service}/{resource.environment.slug}/{resource.name}"


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def publish_outputs(
    resource: Any, plain: dict[str, Any], secret: dict[str, Any], creds: dict[str, str]
) -> list[str]:
    """Write outputs to SSM (sensitive ones as SecureString), drop ones no longer output."""
    ssm = resource_client("ssm", resource.environment, creds)
    prefix = parameter_prefix(resource)
    written: list[str] = []
    for values, kind in ((plain, "String"), (secret, "SecureString")):
        for name, value in values.items():
            text = _as_text(value)
            if not text:
                continue  # SSM refuses empty values
            ssm.put_parameter(
                Name=f"{prefix}/{name}",
                Value=text[:8192],
                Type=kind,
                Overwrite=True,
                Tier="Advanced" if len(text) > 4096 else "Standard",
            )
            written.append(f"{prefix}/{name}")
    for stale in set(_existing(ssm, prefix)) - set(written):
        ssm.delete_parameter(Name=stale)
    return written


def _existing(ssm: Any, prefix: str) -> list[str]:
    names: list[str] = []
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=prefix, Recursive=True):
        names += [p["Name"] for p in page.get("Parameters", [])]
    return names


def remove_outputs(resource: Any, creds: dict[str, str]) -> int:
    """Delete the resource's parameters (after destroy); returns how many."""
    ssm = resource_client("ssm", resource.environment, creds)
    names = _existing(ssm, parameter_prefix(resource))
    for i in range(0, len(names), 10):
        ssm.delete_parameters(Names=names[i : i + 10])
    return len(names)


def backup_states(target_bucket: str | None, prefix: str) -> list[str]:
    """Copy every state object (`teams/…tfstate`) to `prefix` in the target bucket."""
    s3 = platform_client("s3")
    source = state_bucket()
    target = target_bucket or source
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    copied: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=source, Prefix="teams/"):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith(".tfstate"):
                continue
            dest = prefix + obj["Key"]
            s3.copy_object(
                Bucket=target,
                Key=dest,
                CopySource={"Bucket": source, "Key": obj["Key"]},
                ServerSideEncryption="AES256",
            )
            copied.append(dest)
    return copied
