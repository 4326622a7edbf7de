"""Backups of the resource outputs the platform publishes to Parameter Store.

Every state backup generation (`backups/<UTC time>/`) also holds `parameters/<environment>.json`:
the parameters under each environment's `/idp/<team>/<service>/<environment>/…` paths, read
with the environment's own credentials. SecureString values are stored encrypted with the
platform's key (IDP_ENCRYPTION_KEY), never in clear, so a restore needs the same key.
`manage.py restore_parameters` puts them back.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from idp.models import Environment

from ..crypto import decrypt_bytes, encrypt_bytes
from .backend import (
    backup_bucket,
    backup_generations,
    credentials_env,
    platform_client,
    resource_client,
)

log = logging.getLogger(__name__)

ROOT = "/idp/"
FOLDER = "parameters/"
SECURE = "SecureString"


def _belongs_to(name: str, environment: Environment) -> bool:
    # /idp/<team>/<service>/<environment>/<resource>/<output>: an environment's outputs only
    # (environments may share an account, and /idp/ may hold the platform's own config).
    parts = name.split("/")
    return len(parts) >= 7 and parts[1] == "idp" and parts[4] == environment.slug


def _ssm(environment: Environment) -> Any:
    return resource_client("ssm", environment, credentials_env(environment, "idp-parameter-backup"))


def read_outputs(environment: Environment) -> list[dict[str, Any]]:
    """The environment's published outputs, SecureString values encrypted for the backup."""
    ssm = _ssm(environment)
    entries: list[dict[str, Any]] = []
    pages = ssm.get_paginator("get_parameters_by_path").paginate(
        Path=ROOT, Recursive=True, WithDecryption=True
    )
    for page in pages:
        for parameter in page.get("Parameters", []):
            if not _belongs_to(parameter["Name"], environment):
                continue
            entry: dict[str, Any] = {
                "name": parameter["Name"],
                "type": parameter["Type"],
                "version": parameter.get("Version"),
            }
            if parameter["Type"] == SECURE:
                entry["encrypted_value"] = encrypt_bytes(parameter["Value"].encode()).decode()
            else:
                entry["value"] = parameter["Value"]
            entries.append(entry)
    return sorted(entries, key=lambda e: e["name"])


def export_parameters(prefix: str, bucket: str | None = None) -> dict[str, Any]:
    """Write each environment's outputs to `<prefix>parameters/<environment>.json`.

    Returns {"exported": {environment: count}, "errors": {environment: reason}}: one
    environment's unreachable account does not stop the others' backups."""
    s3 = platform_client("s3")
    exported: dict[str, int] = {}
    errors: dict[str, str] = {}
    for environment in Environment.objects.order_by("order", "slug"):
        try:
            entries = read_outputs(environment)
        except (BotoCoreError, ClientError) as exc:
            errors[environment.slug] = str(exc)
            log.warning("parameter backup of %s failed: %s", environment.slug, exc)
            continue
        document = {
            "environment": environment.slug,
            "exported_at": timezone.now().isoformat(),
            "parameters": entries,
        }
        s3.put_object(
            Bucket=bucket or backup_bucket(),
            Key=f"{prefix}{FOLDER}{environment.slug}.json",
            Body=json.dumps(document, indent=2).encode(),
            ContentType="application/json",
            ServerSideEncryption="AES256",
        )
        exported[environment.slug] = len(entries)
    return {"exported": exported, "errors": errors}


def _backup_documents(
    generation: int, bucket: str | None, environment: str | None
) -> tuple[str, list[dict[str, Any]]]:
    source = bucket or backup_bucket()
    generations = backup_generations(source)
    if generation < 1 or generation > len(generations):
        raise LookupError(
            f"there is no backup generation {generation} ({len(generations)} kept in {source})"
        )
    prefix = generations[generation - 1]
    s3 = platform_client("s3")
    documents = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=source, Prefix=prefix + FOLDER):
        for obj in page.get("Contents", []):
            document = json.loads(s3.get_object(Bucket=source, Key=obj["Key"])["Body"].read())
            if environment is None or document.get("environment") == environment:
                documents.append(document)
    if not documents:
        which = f"of environment {environment} " if environment else ""
        raise LookupError(
            f"backup {prefix} holds no parameters {which}(made before backups had them?)"
        )
    return prefix, documents


def restore_parameters(
    generation: int = 1,
    *,
    environment: str | None = None,
    path: str = "",
    bucket: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Put parameters back from backup generation `generation` (1 = newest).

    Only parameters whose value differs from the backup's (or that are gone) are written,
    with their type (SecureString stays SecureString); parameters not in the backup are left
    alone. `path` narrows the restore to names under it. Returns what was (or, with
    `dry_run`, would be) restored, unchanged, and skipped with the reason."""
    prefix, documents = _backup_documents(generation, bucket, environment)
    restored: list[str] = []
    unchanged: list[str] = []
    skipped: dict[str, str] = {}
    for document in documents:
        env = Environment.objects.filter(slug=document["environment"]).first()
        if env is None:
            for entry in document["parameters"]:
                skipped[entry["name"]] = f"environment {document['environment']} is gone"
            continue
        ssm = _ssm(env)
        for entry in document["parameters"]:
            name = entry["name"]
            if path and not name.startswith(path.rstrip("/") + "/"):
                continue
            value = _value_of(entry)
            if value is None:
                skipped[name] = "cannot decrypt: IDP_ENCRYPTION_KEY differs from the backup's"
                continue
            if _current_value(ssm, name) == value:
                unchanged.append(name)
                continue
            if not dry_run:
                ssm.put_parameter(
                    Name=name,
                    Value=value,
                    Type=entry["type"],
                    Overwrite=True,
                    Tier="Advanced" if len(value) > 4096 else "Standard",
                )
            restored.append(name)
    return {
        "generation": generation,
        "prefix": prefix,
        "restored": restored,
        "unchanged": unchanged,
        "skipped": skipped,
        "dry_run": dry_run,
    }


def _value_of(entry: dict[str, Any]) -> str | None:
    if "encrypted_value" in entry:
        clear = decrypt_bytes(entry["encrypted_value"].encode())
        return clear.decode() if clear is not None else None
    return str(entry["value"])


def _current_value(ssm: Any, name: str) -> str | None:
    try:
        return str(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return None
        raise
