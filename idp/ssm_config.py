"""Platform configuration from AWS Systems Manager Parameter Store.

With `IDP_CONFIG_SSM_PREFIX=/idp/config/prod` set, the settings module reads every parameter
under that path once, at start, before it reads the environment: a parameter
`/idp/config/prod/IDP_SECRET_KEY` (String or SecureString, decrypted) stands for the
variable `IDP_SECRET_KEY`. A variable already set in the environment always wins, so an
operator can override one value without touching the store.

This module imports nothing from Django (settings load it) and talks to SSM through boto3,
so `AWS_ENDPOINT_URL` points it at a local AWS API like the rest of the platform.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

PREFIX_VARIABLE = "IDP_CONFIG_SSM_PREFIX"
# Only names a settings module could read: the store may hold other things under the path.
_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


class ConfigStoreError(RuntimeError):
    """The configured Parameter Store path could not be read: the platform must not start
    half-configured (without its secret key or database, say)."""


def read_parameters(prefix: str, environ: Mapping[str, str], client: Any = None) -> dict[str, str]:
    """{variable: value} of every parameter directly under `prefix` (decrypted)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    path = "/" + prefix.strip("/")
    if client is None:
        client = boto3.client(
            "ssm",
            region_name=environ.get("AWS_DEFAULT_REGION") or environ.get("AWS_REGION"),
            endpoint_url=environ.get("AWS_ENDPOINT_URL") or None,
        )
    values: dict[str, str] = {}
    try:
        pages = client.get_paginator("get_parameters_by_path").paginate(
            Path=path, Recursive=False, WithDecryption=True
        )
        for page in pages:
            for parameter in page.get("Parameters", []):
                name = parameter["Name"].rsplit("/", 1)[-1]
                if _NAME.match(name):
                    values[name] = parameter["Value"]
    except (BotoCoreError, ClientError) as exc:
        raise ConfigStoreError(
            f"{PREFIX_VARIABLE}={prefix}: Parameter Store could not be read ({exc}). Fix the "
            "path or the credentials, or unset the variable to configure from the environment."
        ) from exc
    return values


def apply(environ: MutableMapping[str, str] | None = None, client: Any = None) -> list[str]:
    """Fill `environ` (os.environ by default) from the store where a variable is unset;
    returns the names taken from the store, which `manage.py idp_settings` shows."""
    environ = os.environ if environ is None else environ
    prefix = environ.get(PREFIX_VARIABLE, "").strip()
    if not prefix:
        return []
    taken = []
    for name, value in sorted(read_parameters(prefix, environ, client).items()):
        if name == PREFIX_VARIABLE or name in environ:
            continue  # the environment wins
        environ[name] = value
        taken.append(name)
    return taken
