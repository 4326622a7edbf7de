"""What each runtime kind does to put an artifact live, with the environment's deploy-role
credentials (boto3; a local AWS API in tests and `make run`).

- Lambda: the function's code is updated from the artifact zip in S3 and a version is
  published; the alias `live` moves to it; the code's SHA-256 read back must be the
  artifact's.
- S3 static site: the zip's files are uploaded under `releases/<version>/`, then the pointer
  object `live.json` is switched to that prefix (a release already uploaded is reused
  when its digest matches: a rollback only switches).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import mimetypes
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from provisioning.engine.backend import resource_client

from ..choices import RuntimeKind
from ..models import Deployment
from .logs import DeploymentLog

LIVE_ALIAS = "live"
POINTER_KEY = "live.json"
RELEASES = "releases"
MARKER = ".idp-release.json"
MAX_ARTIFACT_BYTES = 250 * 1024 * 1024
MAX_SITE_FILES = 5000


class DeployError(Exception):
    """The deployment cannot go on (a refused input, the runtime said no): it fails with
    this message, nothing retried."""


@dataclass
class Artifact:
    bucket: str
    key: str
    data: bytes
    version_id: str | None = None

    @property
    def sha256_hex(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def digest(self) -> str:
        return f"sha256:{self.sha256_hex}"

    @property
    def lambda_sha256(self) -> str:
        """Lambda's CodeSha256: the SHA-256 of the zip, base64."""
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode()


@dataclass
class Deployed:
    digest: str
    outcome: dict[str, Any] = field(default_factory=dict)


def parse_s3_ref(ref: str) -> tuple[str, str]:
    """`s3://bucket/key` → (bucket, key); a DeployError otherwise."""
    if not ref.startswith("s3://"):
        raise DeployError(f"The artifact must be an s3://bucket/key reference, not {ref!r}.")
    bucket, _, key = ref[5:].partition("/")
    if not bucket or not key or key.endswith("/"):
        raise DeployError(f"The artifact {ref!r} names no object (s3://bucket/key).")
    return bucket, key


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def fetch_artifact(deployment: Deployment, creds: dict[str, str], log: DeploymentLog) -> Artifact:
    """Read the artifact with the deploy role (its size capped) and pin its object version."""
    bucket, key = parse_s3_ref(deployment.artifact)
    s3 = resource_client("s3", deployment.environment, creds)
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        raise DeployError(
            f"The artifact {deployment.artifact} cannot be read with the deploy role "
            f"({_code(exc) or exc})."
        ) from exc
    size = int(head.get("ContentLength") or 0)
    if size > MAX_ARTIFACT_BYTES:
        raise DeployError(f"The artifact is {size} bytes; the limit is {MAX_ARTIFACT_BYTES}.")
    version_id = head.get("VersionId")
    args: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id and version_id != "null":
        args["VersionId"] = version_id
    data = s3.get_object(**args)["Body"].read()
    artifact = Artifact(bucket, key, data, args.get("VersionId"))
    log.write(f"Artifact {deployment.artifact}: {len(data)} bytes, {artifact.digest}")
    if deployment.artifact_digest and deployment.artifact_digest != artifact.digest:
        raise DeployError(
            f"The artifact changed since it was deployed before: expected "
            f"{deployment.artifact_digest}, found {artifact.digest}."
        )
    return artifact


# --- Lambda ------------------------------------------------------------------------------


def deploy_lambda(deployment: Deployment, creds: dict[str, str], log: DeploymentLog) -> Deployed:
    artifact = fetch_artifact(deployment, creds, log)
    function = deployment.target
    client = resource_client("lambda", deployment.environment, creds)
    previous = None
    try:
        previous = client.get_alias(FunctionName=function, Name=LIVE_ALIAS)["FunctionVersion"]
        log.write(f"Alias {LIVE_ALIAS} of {function} points at version {previous}")
    except ClientError as exc:
        if _code(exc) != "ResourceNotFoundException":
            raise DeployError(f"Cannot read function {function}: {_code(exc) or exc}") from exc
        log.write(f"Function {function} has no alias {LIVE_ALIAS} yet")
    code: dict[str, Any] = {"S3Bucket": artifact.bucket, "S3Key": artifact.key}
    if artifact.version_id:
        code["S3ObjectVersion"] = artifact.version_id
    try:
        updated = client.update_function_code(FunctionName=function, Publish=True, **code)
    except ClientError as exc:
        raise DeployError(f"Lambda refused the code of {function}: {_code(exc) or exc}") from exc
    published = str(updated["Version"])
    log.write(f"Published version {published} of {function} (CodeSha256 {updated['CodeSha256']})")
    if updated["CodeSha256"] != artifact.lambda_sha256:
        raise DeployError(
            f"Version {published} does not hold the artifact (CodeSha256 "
            f"{updated['CodeSha256']}, artifact {artifact.lambda_sha256}); the alias was not moved."
        )
    description = f"{deployment.version} ({deployment.commit[:12]})"[:256]
    if previous is None:
        client.create_alias(
            FunctionName=function,
            Name=LIVE_ALIAS,
            FunctionVersion=published,
            Description=description,
        )
    else:
        client.update_alias(
            FunctionName=function,
            Name=LIVE_ALIAS,
            FunctionVersion=published,
            Description=description,
        )
    log.write(f"Alias {LIVE_ALIAS} moved to version {published}")
    live = client.get_function(FunctionName=function, Qualifier=LIVE_ALIAS)["Configuration"]
    if live["CodeSha256"] != artifact.lambda_sha256:
        raise DeployError(
            f"Read back: {function}:{LIVE_ALIAS} runs CodeSha256 {live['CodeSha256']}, not the "
            "artifact's."
        )
    log.write(f"Read back: {function}:{LIVE_ALIAS} runs the artifact ({artifact.lambda_sha256})")
    return Deployed(
        artifact.digest,
        {
            "function": function,
            "alias": LIVE_ALIAS,
            "published_version": published,
            "previous_version": previous,
            "code_sha256": artifact.lambda_sha256,
        },
    )


# --- S3 static site -------------------------------------------------------------------------


def _site_files(data: bytes) -> list[tuple[str, bytes]]:
    """The zip's files as (relative path, bytes); paths that leave the release are refused."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise DeployError("The site artifact is not a zip file.") from exc
    files: list[tuple[str, bytes]] = []
    total = 0
    for info in archive.infolist():
        if info.is_dir():
            continue
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in info.filename:
            raise DeployError(f"The site artifact holds a path outside it: {info.filename!r}.")
        total += info.file_size
        if total > MAX_ARTIFACT_BYTES or len(files) >= MAX_SITE_FILES:
            raise DeployError("The site artifact unpacks past the platform's limits.")
        files.append((str(path), archive.read(info)))
    if not files:
        raise DeployError("The site artifact holds no files.")
    return files


def deploy_s3_site(deployment: Deployment, creds: dict[str, str], log: DeploymentLog) -> Deployed:
    artifact = fetch_artifact(deployment, creds, log)
    bucket = deployment.target
    prefix = f"{RELEASES}/{deployment.version}/"
    s3 = resource_client("s3", deployment.environment, creds)
    marker = None
    try:
        marker = json.loads(s3.get_object(Bucket=bucket, Key=prefix + MARKER)["Body"].read())
    except ClientError as exc:
        if _code(exc) not in ("NoSuchKey", "404"):
            raise DeployError(f"Cannot read bucket {bucket}: {_code(exc) or exc}") from exc
    if marker is not None and marker.get("digest") != artifact.digest:
        raise DeployError(
            f"Release {deployment.version} is already in {bucket} with another artifact "
            f"({marker.get('digest')}); versions are immutable: use a new version."
        )
    if marker is None:
        files = _site_files(artifact.data)
        for path, body in files:
            content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
            s3.put_object(Bucket=bucket, Key=prefix + path, Body=body, ContentType=content_type)
        s3.put_object(
            Bucket=bucket,
            Key=prefix + MARKER,
            Body=json.dumps({"digest": artifact.digest, "commit": deployment.commit}).encode(),
            ContentType="application/json",
        )
        log.write(f"Uploaded {len(files)} files to s3://{bucket}/{prefix}")
    else:
        log.write(f"Release s3://{bucket}/{prefix} is already uploaded with this artifact")
    previous = None
    try:
        previous = json.loads(s3.get_object(Bucket=bucket, Key=POINTER_KEY)["Body"].read())
    except ClientError as exc:
        if _code(exc) not in ("NoSuchKey", "404"):
            raise DeployError(f"Cannot read {POINTER_KEY}: {_code(exc) or exc}") from exc
    pointer = {
        "version": deployment.version,
        "prefix": prefix,
        "digest": artifact.digest,
        "commit": deployment.commit,
        "deployment": deployment.pk,
    }
    s3.put_object(
        Bucket=bucket,
        Key=POINTER_KEY,
        Body=json.dumps(pointer).encode(),
        ContentType="application/json",
        CacheControl="no-cache",
    )
    live = json.loads(s3.get_object(Bucket=bucket, Key=POINTER_KEY)["Body"].read())
    if live.get("prefix") != prefix:
        raise DeployError(f"Read back: {POINTER_KEY} points at {live.get('prefix')!r}.")
    log.write(f"Switched s3://{bucket}/{POINTER_KEY} to {prefix}")
    return Deployed(
        artifact.digest,
        {
            "bucket": bucket,
            "prefix": prefix,
            "pointer": POINTER_KEY,
            "previous_prefix": (previous or {}).get("prefix"),
        },
    )


Target = Callable[[Deployment, dict[str, str], DeploymentLog], Deployed]
TARGETS: dict[str, Target] = {
    RuntimeKind.LAMBDA: deploy_lambda,
    RuntimeKind.S3_SITE: deploy_s3_site,
}
