"""Where the CLI keeps its URL and token: `$XDG_CONFIG_HOME/idp/config.toml`, mode 0600."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Config:
    url: str = ""
    token: str = ""


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "idp" / "config.toml"


def _toml_string(value: str) -> str:
    # TOML basic strings share JSON's escapes for the characters a URL or token may hold.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def load() -> Config:
    """The stored config with IDP_URL / IDP_TOKEN taking precedence."""
    stored = Config()
    path = config_path()
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            data = {}
        stored = Config(url=str(data.get("url", "")), token=str(data.get("token", "")))
    return Config(
        url=os.environ.get("IDP_URL") or stored.url,
        token=os.environ.get("IDP_TOKEN") or stored.token,
    )


def save(config: Config) -> Path:
    """Write the config readable only by its owner (created 0600, never world-readable)."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = f"url = {_toml_string(config.url)}\ntoken = {_toml_string(config.token)}\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return path
