"""State backend, AWS credentials and Parameter Store for runs.

State lives in S3 at `teams/<team>/<environment>/<resource id>.tfstate` with S3's own
lock file (`use_lockfile`), or, where the environment says so, a DynamoDB lock table (for
organisations on older Terraform or with lock tables already in place). Terraform gets
short-lived credentials through its environment only: the environment's role through STS,
else the default chain.
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

from idp.choices import StateLocking
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


@functools.lru_cache(maxsize=32)
def _client(
    service: str,
    region: str,
    endpoint: str | None,
    key: str | None = None,
    secret: str | None = None,
    token: str | None = None,
) -> Any:
    """One boto3 client per service, region, endpoint and credentials in this process:
    making one costs tens of milliseconds, more than the call a run makes with it (clients
    are thread-safe; a run's assumed-role credentials make their own)."""
    # boto3-stubs type client() per literal service name; ours is chosen at run time.
    return _default_session().client(  # type: ignore[call-overload]
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


# A forked worker child opens its own connections (never its parent's sockets).
os.register_at_fork(after_in_child=_client.cache_clear)


def platform_client(service: str, region: str | None = None) -> Any:
    """A boto3 client for the platform's own account (state bucket, backups)."""
    return _client(service, region or settings.AWS_REGION, settings.AWS_ENDPOINT_URL)


def _hcl(value: str) -> str:
    # Values here are platform-made (slugs, ids, URLs); JSON quoting is a valid HCL string.
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def uses_dynamodb_lock(environment: Any) -> bool:
    return getattr(environment, "state_locking", "") == StateLocking.DYNAMODB


def backend_tf(resource: Any) -> str:
    """The `backend.tf` of a run: S3 state, encrypted, locked by S3's lock file or by the
    environment's DynamoDB table."""
    dynamodb = uses_dynamodb_lock(resource.environment)
    lines = [
        "terraform {",
        '  backend "s3" {',
        f"    bucket       = {_hcl(state_bucket())}",
        f"    key          = {_hcl(state_key(resource))}",
        f"    region       = {_hcl(settings.AWS_REGION)}",
        "    encrypt      = true",
        f"    max_retries  = {int(setting('IDP_STATE_BACKEND_MAX_RETRIES'))}",
    ]
    if dynamodb:
        lines.append(f"    dynamodb_table = {_hcl(resource.environment.dynamodb_lock_table)}")
    else:
        lines.append("    use_lockfile = true")
    endpoint = settings.AWS_ENDPOINT_URL
    if endpoint:
        services = f"s3 = {_hcl(endpoint)}"
        if dynamodb:
            services += f", dynamodb = {_hcl(endpoint)}"
        lines += [
            f"    endpoints = {{ {services} }}",
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
    return _client(
        service,
        region_for(environment),
        endpoint_for(environment),
        # Without the run's own keys, the session's default chain (environment first).
        creds.get("AWS_ACCESS_KEY_ID") or None,
        creds.get("AWS_SECRET_ACCESS_KEY") or None,
        creds.get("AWS_SESSION_TOKEN") or None,
    )


def lock_id(resource: Any) -> str:
    """The LockID Terraform writes in a DynamoDB lock table for the resource's state."""
    return f"{state_bucket()}/{state_key(resource)}"


def delete_state_lock(resource: Any) -> bool:
    """Remove Terraform's lock of the resource's state (its holder is gone): the S3 lock
    file, or the DynamoDB lock item (never the `-md5` digest item beside it); True when
    there was one to remove."""
    if uses_dynamodb_lock(resource.environment):
        return _delete_dynamodb_lock(resource)
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


def _delete_dynamodb_lock(resource: Any) -> bool:
    table = resource.environment.dynamodb_lock_table
    key = {"LockID": {"S": lock_id(resource)}}
    try:
        removed = platform_client("dynamodb").delete_item(
            TableName=table, Key=key, ReturnValues="ALL_OLD"
        )
    except (ClientError, BotoCoreError) as exc:
        log.warning("DynamoDB lock of resource %s not removed from %s: %s", resource.pk, table, exc)
        return False
    return bool(removed.get("Attributes"))


def ensure_lock_table(name: str) -> dict[str, Any]:
    """Create a DynamoDB lock table Terraform can use (hash key LockID), if missing."""
    dynamodb = platform_client("dynamodb")
    try:
        dynamodb.describe_table(TableName=name)
        return {"table": name, "created": False}
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True},
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name)
    return {"table": name, "created": True}


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
    """Write outputs to SSM (sensitive ones as SecureString), drop ones no longer output.
    A plain output already stored with the same value is not written again (an upgrade
    that changes no output costs one read)."""
    ssm = resource_client("ssm", resource.environment, creds)
    prefix = parameter_prefix(resource)
    existing = _existing_values(ssm, prefix)
    written: list[str] = []
    for values, kind in ((plain, "String"), (secret, "SecureString")):
        for name, value in values.items():
            text = _as_text(value)
            if not text:
                continue  # SSM refuses empty values
            full = f"{prefix}/{name}"
            written.append(full)
            if kind == "String" and existing.get(full) == ("String", text[:8192]):
                continue
            ssm.put_parameter(
                Name=full,
                Value=text[:8192],
                Type=kind,
                Overwrite=True,
                Tier="Advanced" if len(text) > 4096 else "Standard",
            )
    for stale in set(existing) - set(written):
        ssm.delete_parameter(Name=stale)
    return written


def _existing_values(ssm: Any, prefix: str) -> dict[str, tuple[str, str]]:
    """The parameters under `prefix`: name → (type, value; a SecureString's encrypted)."""
    found: dict[str, tuple[str, str]] = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=prefix, Recursive=True):
        for param in page.get("Parameters", []):
            found[param["Name"]] = (param.get("Type", ""), param.get("Value", ""))
    return found


def _existing(ssm: Any, prefix: str) -> list[str]:
    return list(_existing_values(ssm, prefix))


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


# --- writing a state Terraform could not store, backups and restores -------------------------


class StateConflict(Exception):
    """The backend holds a state that writing this one would silently overwrite."""


def read_state(resource: Any, bucket: str | None = None, key: str | None = None) -> bytes | None:
    """The resource's state object (or another key's), None when there is none."""
    s3 = platform_client("s3")
    try:
        body = s3.get_object(Bucket=bucket or state_bucket(), Key=key or state_key(resource))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    return bytes(body["Body"].read())


def _put_state(resource: Any, data: bytes) -> None:
    platform_client("s3").put_object(
        Bucket=state_bucket(),
        Key=state_key(resource),
        Body=data,
        ContentType="application/json",
        ServerSideEncryption="AES256",  # as the backend's `encrypt = true` does
    )
    # The cached summary described the state this one replaces (a push refreshes it).
    from .state_cache import forget

    forget(resource)


def write_state(resource: Any, data: bytes) -> str:
    """Store a state Terraform wrote to `errored.tfstate`, with `terraform state push`'s
    safety checks: the same lineage, and no newer serial in the backend. Then remove the
    lock file the failed apply could not release (nothing runs on a `state_pending`
    resource). Returns "pushed" or "already stored"."""
    doc = json.loads(data)
    current = read_state(resource)
    if current is not None:
        remote = json.loads(current)
        if remote.get("lineage") and remote.get("lineage") != doc.get("lineage"):
            raise StateConflict(
                f"the backend holds a state of another lineage ({remote.get('lineage')}, this "
                f"one is {doc.get('lineage')}); not overwritten"
            )
        if int(remote.get("serial", 0)) > int(doc.get("serial", 0)):
            raise StateConflict(
                f"the backend holds a newer state (serial {remote.get('serial')} > "
                f"{doc.get('serial')}); not overwritten"
            )
        if int(remote.get("serial", 0)) == int(doc.get("serial", 0)):
            if remote.get("resources") != doc.get("resources"):
                raise StateConflict(
                    f"the backend holds a different state with the same serial "
                    f"({doc.get('serial')}); not overwritten"
                )
            delete_state_lock(resource)
            return "already stored"
    _put_state(resource, data)
    delete_state_lock(resource)
    return "pushed"


BACKUP_ROOT = "backups/"


def backup_bucket() -> str:
    return setting("IDP_STATE_BACKUP_BUCKET") or state_bucket()


def new_generation_prefix(now: Any) -> str:
    """A backup generation's prefix: `backups/<UTC time to the microsecond>Z/`."""
    return f"{BACKUP_ROOT}{now:%Y%m%dT%H%M%S%f}Z/"


def _generation_order(prefix: str) -> str:
    # `…T120000Z` (seconds, older backups) and `…T120000123456Z` sort by their digits.
    digits = "".join(ch for ch in prefix if ch.isdigit())
    return digits.ljust(20, "0")


def backup_generations(bucket: str | None = None) -> list[str]:
    """The backup generations' prefixes in the backup bucket, newest first."""
    s3 = platform_client("s3")
    prefixes: list[str] = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket or backup_bucket(), Prefix=BACKUP_ROOT, Delimiter="/"
    )
    for page in pages:
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return sorted(prefixes, key=_generation_order, reverse=True)


def prune_backups(keep: int, bucket: str | None = None) -> list[str]:
    """Delete every backup generation but the `keep` newest; returns the removed prefixes."""
    s3 = platform_client("s3")
    target = bucket or backup_bucket()
    removed = backup_generations(target)[max(keep, 1) :]
    for prefix in removed:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=target, Prefix=prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            for i in range(0, len(keys), 1000):
                s3.delete_objects(Bucket=target, Delete={"Objects": keys[i : i + 1000]})
    return removed


def restore_state(resource: Any, generation: int = 1, bucket: str | None = None) -> dict[str, Any]:
    """Put the resource's state back from backup generation `generation` (1 = newest).

    The restored state keeps its lineage and gets a serial above the one it replaces, so
    Terraform treats it as the newest state (as `terraform state push -force` would)."""
    source = bucket or backup_bucket()
    generations = backup_generations(source)
    if generation < 1 or generation > len(generations):
        raise LookupError(
            f"there is no backup generation {generation} ({len(generations)} kept in {source})"
        )
    prefix = generations[generation - 1]
    data = read_state(resource, bucket=source, key=prefix + state_key(resource))
    if data is None:
        raise LookupError(f"backup {prefix} holds no state of resource {resource.pk}")
    doc = json.loads(data)
    current = read_state(resource)
    replaced = json.loads(current) if current is not None else None
    if replaced is not None and int(replaced.get("serial", 0)) >= int(doc.get("serial", 0)):
        doc["serial"] = int(replaced.get("serial", 0)) + 1
    _put_state(resource, json.dumps(doc, indent=2).encode())
    return {
        "generation": generation,
        "prefix": prefix,
        "serial": doc.get("serial"),
        "lineage": doc.get("lineage"),
        "resources": len(doc.get("resources", [])),
    }
