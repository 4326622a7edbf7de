"""Encryption at rest for provisioning: the kernel's Fernet helper (`idp.crypto`), under the
names provisioning's modules have always imported."""

from __future__ import annotations

from idp.crypto import decrypt_bytes, decrypt_json, encrypt_bytes, encrypt_json

__all__ = ["decrypt_bytes", "decrypt_json", "encrypt_bytes", "encrypt_json"]
