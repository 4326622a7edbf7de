"""Backups of Parameter Store: the resource outputs the platform publishes, and its own
configuration.

Every state backup generation (`backups/<UTC time>/`) also holds `parameters/<environment>.json`:
the parameters under each environment's `/idp/<team>/<service>/<environment>/…` paths, read
with the environment's own credentials; and, when the platform is configured from Parameter
Store (`IDP_CONFIG_SSM_PREFIX`), `config/parameters.json`: every parameter under that path,
read with the platform's credentials. SecureString values are stored encrypted with the
platform's key (IDP_ENCRYPTION_KEY), never in clear, so a restore needs the same key (keep it
outside the configuration store too). `manage.py restore_parameters` puts outputs back,
`--config` the configuration.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from idp.conf import setting
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
CONFIG_KEY = "config/parameters.json"
SECURE = "SecureString"


def _belongs_to(name: str, environment: Environment) -> bool:
    # /idp/<team>/<service>/<environment>/<resource>/<output>: an environment's outputs only
    # (environments may share an account, and /idp/ may hold the platform's own config).
    parts = name.split("/")
    return len(parts) >= 7 and parts[1] == "idp" and parts[4] == environment.slug


def _ssm(environment: Environment) -> Any:
    return resource_client("ssm", environment, credentials_env(environment, "idp-parameter-backup"))


def _read(ssm: Any, path: str, keep: Any = None) -> list[dict[str, Any]]:
    """The parameters under `path` (those `keep` accepts), SecureString values encrypted."""
    entries: list[dict[str, Any]] = []
    pages = ssm.get_paginator("get_parameters_by_path").paginate(
        Path=path, Recursive=True, WithDecryption=True
    )
    for page in pages:
        for parameter in page.get("Parameters", []):
            if keep is not None and not keep(parameter["Name"]):
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


def read_outputs(environment: Environment) -> list[dict[str, Any]]:
    """The environment's published outputs, SecureString values encrypted for the backup."""
    return _read(_ssm(environment), ROOT, lambda name: _belongs_to(name, environment))


def config_path() -> str:
    """The Parameter Store path the platform is configured from, or "" when it is not."""
    prefix = str(setting("IDP_CONFIG_SSM_PREFIX") or "").strip("/ ")
    return f"/{prefix}" if prefix else ""


def read_config() -> list[dict[str, Any]]:
    """The platform's own configuration parameters, SecureString values encrypted."""
    return _read(platform_client("ssm"), config_path())


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
        key = f"{prefix}{FOLDER}{environment.slug}.json"
        _save(s3, bucket, key, {"environment": environment.slug}, entries)
        exported[environment.slug] = len(entries)
    return {"exported": exported, "errors": errors, "config": _export_config(s3, prefix, bucket)}


def _export_config(s3: Any, prefix: str, bucket: str | None) -> dict[str, Any] | None:
    """Save the configuration parameters: {"path", "saved"} or {"path", "error"}; None when
    the platform is not configured from Parameter Store."""
    path = config_path()
    if not path:
        return None
    try:
        entries = read_config()
    except (BotoCoreError, ClientError) as exc:
        log.warning("configuration backup of %s failed: %s", path, exc)
        return {"path": path, "error": str(exc)}
    _save(s3, bucket, f"{prefix}{CONFIG_KEY}", {"config_path": path}, entries)
    return {"path": path, "saved": len(entries)}


def _save(
    s3: Any, bucket: str | None, key: str, about: dict[str, str], entries: list[dict[str, Any]]
) -> None:
    """One backup document: what it is about, when, and the (encrypted) parameters."""
    document = {**about, "exported_at": timezone.now().isoformat(), "parameters": entries}
    s3.put_object(
        Bucket=bucket or backup_bucket(),
        Key=key,
        Body=json.dumps(document, indent=2).encode(),
        ContentType="application/json",
        ServerSideEncryption="AES256",
    )


def _generation(generation: int, source: str) -> str:
    generations = backup_generations(source)
    if generation < 1 or generation > len(generations):
        raise LookupError(
            f"there is no backup generation {generation} ({len(generations)} kept in {source})"
        )
    return generations[generation - 1]


def _config_document(generation: int, bucket: str | None) -> tuple[str, dict[str, Any]]:
    source = bucket or backup_bucket()
    prefix = _generation(generation, source)
    try:
        body = platform_client("s3").get_object(Bucket=source, Key=prefix + CONFIG_KEY)["Body"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
            raise
        raise LookupError(
            f"backup {prefix} holds no configuration (IDP_CONFIG_SSM_PREFIX was unset when it "
            "was made, or it was made before backups had it)"
        ) from None
    return prefix, json.loads(body.read())


def _backup_documents(
    generation: int, bucket: str | None, environment: str | None
) -> tuple[str, list[dict[str, Any]]]:
    source = bucket or backup_bucket()
    prefix = _generation(generation, source)
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
    config: bool = False,
) -> dict[str, Any]:
    """Put parameters back from backup generation `generation` (1 = newest).

    Only parameters whose value differs from the backup's (or that are gone) are written,
    with their type (SecureString stays SecureString); parameters not in the backup are left
    alone. `path` narrows the restore to names under it. Returns what was (or, with
    `dry_run`, would be) restored (`missing`: those that were gone), unchanged, and skipped
    with the reason.

    With `config`, the platform's configuration parameters are restored instead (to the path
    they were backed up from, through the platform's credentials); `environment` does not
    apply."""
    done: dict[str, Any] = {
        "generation": generation,
        "restored": [],
        "missing": [],
        "unchanged": [],
        "skipped": {},
        "dry_run": dry_run,
    }
    if config:
        done["prefix"], document = _config_document(generation, bucket)
        _restore(platform_client("ssm"), document["parameters"], path, done)
        return done
    done["prefix"], documents = _backup_documents(generation, bucket, environment)
    for document in documents:
        env = Environment.objects.filter(slug=document["environment"]).first()
        if env is None:
            for entry in document["parameters"]:
                done["skipped"][entry["name"]] = f"environment {document['environment']} is gone"
            continue
        _restore(_ssm(env), document["parameters"], path, done)
    return done


def _restore(ssm: Any, entries: list[dict[str, Any]], path: str, done: dict[str, Any]) -> None:
    """Write back each entry under `path` whose value differs from the store's (or that is
    gone), recording it in `done`; a dry run writes nothing."""
    for entry in entries:
        name = entry["name"]
        if path and not name.startswith(path.rstrip("/") + "/"):
            continue
        value = _value_of(entry)
        if value is None:
            done["skipped"][name] = "cannot decrypt: IDP_ENCRYPTION_KEY differs from the backup's"
            continue
        current = _current_value(ssm, name)
        if current == value:
            done["unchanged"].append(name)
            continue
        if not done["dry_run"]:
            ssm.put_parameter(
                Name=name,
                Value=value,
                Type=entry["type"],
                Overwrite=True,
                Tier="Advanced" if len(value) > 4096 else "Standard",
            )
        done["restored"].append(name)
        if current is None:
            done["missing"].append(name)


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
