"""Tenant webhook secrets at rest: sealed with AES-256-GCM under a key-encryption key (KEK) that
lives only in the environment (`SECRET_ENCRYPTION_KEY`) of availability and the gateway.

Why not a hash: Vapi signs requests with the secret itself (HMAC), so the gateway must be able to
recover it; a hash (or the old "SHA-256 as the HMAC key") stored in the database was itself enough
to sign. Sealed, a database dump or any RPC reply holds only ciphertext. The associated data binds
each ciphertext to its tenant and secret id, so one tenant's sealed secret cannot be replayed as
another's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from common.config import ConfigError

KEK_VAR = "SECRET_ENCRYPTION_KEY"
MIN_KEK_LENGTH = 32
VERSION = b"\x01"  # leaves room to rotate the KEK: a new version byte, both tried on open
NONCE_BYTES = 12


class SecretBox:
    def __init__(self, kek: str) -> None:
        material = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"voice-booking tenant secrets v1")
        self._aead = AESGCM(material.derive(kek.encode()))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SecretBox:
        kek = env.get(KEK_VAR, "")
        if not kek:
            raise ConfigError(f"{KEK_VAR} is required but not set (make run generates one)")
        if len(kek) < MIN_KEK_LENGTH:
            raise ConfigError(f"{KEK_VAR} must be at least {MIN_KEK_LENGTH} characters")
        return cls(kek)

    def seal(self, secret: str, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, secret.encode(), context.encode())

    def open(self, sealed: bytes, context: str) -> str | None:
        """The secret, or None if this box's key did not seal it (or it was altered)."""
        if len(sealed) <= 1 + NONCE_BYTES or sealed[:1] != VERSION:
            return None
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, context.encode()).decode()
        except (InvalidTag, UnicodeDecodeError):
            return None


def secret_context(tenant_id: str, secret_id: str) -> str:
    return f"tenant-secret:{tenant_id}:{secret_id}"
