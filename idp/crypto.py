"""Encryption of secrets at rest (Fernet): sensitive parameters and outputs, plan files,
stored API answers (idempotency keys)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from idp.conf import setting


def _fernet() -> Fernet:
    secret = setting("IDP_ENCRYPTION_KEY") or settings.SECRET_KEY
    # A fixed-length key derived from the configured secret, so any string works as a key.
    key = base64.urlsafe_b64encode(hashlib.sha256(f"idp-fernet:{secret}".encode()).digest())
    return Fernet(key)


def encrypt_json(value: dict[str, Any]) -> str:
    """Encrypt a JSON-serialisable dict; an empty dict is stored as an empty string."""
    if not value:
        return ""
    return _fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    """Decrypt what encrypt_json wrote; an unreadable token (rotated key) yields {}."""
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except (InvalidToken, ValueError):
        return {}


def encrypt_bytes(data: bytes) -> bytes:
    """Encrypt a blob at rest (plan files hold every variable value, sensitive ones too)."""
    return _fernet().encrypt(data)


def decrypt_bytes(token: bytes | memoryview | None) -> bytes | None:
    """The blob encrypt_bytes stored, or None when it was altered or the key changed."""
    if not token:
        return None
    try:
        return _fernet().decrypt(bytes(token))
    except (InvalidToken, ValueError):
        return None
