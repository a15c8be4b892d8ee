"""Who may call our gRPC services, and over what: the service token and optional TLS/mTLS.

Every process reads the same variables (validated at start, a bad one names itself):
- `INTERNAL_API_TOKEN`: the service token (all tenants); sent by every internal client as
  `authorization: Bearer <token>` and accepted by every server. At least 24 characters.
- `GRPC_TLS_CERT` / `GRPC_TLS_KEY`: PEM files. A server with them serves TLS only; a client with
  them presents them as its client certificate (mTLS).
- `GRPC_TLS_CLIENT_CA`: PEM CA; a server then requires client certificates signed by it.
  Clients trust it for servers too (one internal CA is the usual set-up) unless
  `GRPC_TLS_SERVER_CA` names another; `GRPC_TLS_SERVER_NAME` overrides the name checked in the
  server's certificate (e.g. when dialling an IP address).
Clients use TLS as soon as any of the CA/cert variables is set.
"""

from __future__ import annotations

import functools
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

from common.config import ConfigError

TOKEN_VAR = "INTERNAL_API_TOKEN"  # noqa: S105 - a variable name, not a secret
MIN_TOKEN_LENGTH = 24
AUTHORIZATION = "authorization"


def _pem(env: Mapping[str, str], name: str) -> bytes | None:
    path = env.get(name, "")
    if not path:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError(f"{name}={path!r} cannot be read ({error.strerror})") from None
    if b"-----BEGIN" not in data:
        raise ConfigError(f"{name}={path!r} is not a PEM file")
    return data


@dataclass(frozen=True)
class TlsFiles:
    cert: bytes | None = None
    key: bytes | None = None
    client_ca: bytes | None = None
    server_ca: bytes | None = None
    server_name: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TlsFiles:
        files = cls(
            cert=_pem(env, "GRPC_TLS_CERT"),
            key=_pem(env, "GRPC_TLS_KEY"),
            client_ca=_pem(env, "GRPC_TLS_CLIENT_CA"),
            server_ca=_pem(env, "GRPC_TLS_SERVER_CA"),
            server_name=env.get("GRPC_TLS_SERVER_NAME", ""),
        )
        if (files.cert is None) != (files.key is None):
            raise ConfigError("GRPC_TLS_CERT and GRPC_TLS_KEY must be set together")
        return files

    @property
    def client_uses_tls(self) -> bool:
        return any((self.cert, self.client_ca, self.server_ca))


@dataclass(frozen=True)
class GrpcSecurity:
    """The service token plus TLS material, for servers and clients alike."""

    token: str
    tls: TlsFiles = TlsFiles()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GrpcSecurity:
        token = env.get(TOKEN_VAR, "")
        if not token:
            raise ConfigError(f"{TOKEN_VAR} is required but not set (make run generates one)")
        if len(token) < MIN_TOKEN_LENGTH or not token.isascii() or not token.isprintable() or " " in token:
            raise ConfigError(f"{TOKEN_VAR} must be at least {MIN_TOKEN_LENGTH} printable ASCII characters, no spaces")
        return cls(token=token, tls=TlsFiles.from_env(env))

    def is_service_token(self, presented: str) -> bool:
        return hmac.compare_digest(presented.encode(), self.token.encode())

    def server_credentials(self) -> grpc.ServerCredentials | None:
        """TLS for a server (client certificates required when a client CA is set), or None."""
        if self.tls.cert is None or self.tls.key is None:
            return None
        return grpc.ssl_server_credentials(
            [(self.tls.key, self.tls.cert)],
            root_certificates=self.tls.client_ca,
            require_client_auth=self.tls.client_ca is not None,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials | None:
        """TLS for a client (with our certificate for mTLS when we have one), or None for plaintext."""
        if not self.tls.client_uses_tls:
            return None
        return grpc.ssl_channel_credentials(
            root_certificates=self.tls.server_ca or self.tls.client_ca,
            private_key=self.tls.key,
            certificate_chain=self.tls.cert,
        )

    def channel_options(self) -> list[tuple[str, str]]:
        if self.tls.client_uses_tls and self.tls.server_name:
            return [("grpc.ssl_target_name_override", self.tls.server_name)]
        return []

    def call_metadata(self) -> tuple[tuple[str, str], ...]:
        return ((AUTHORIZATION, f"Bearer {self.token}"),)


@functools.cache
def process_security() -> GrpcSecurity:
    """This process's security settings, read once from the environment (raises ConfigError)."""
    return GrpcSecurity.from_env(os.environ)


def bearer(metadata: Mapping[str, str | bytes]) -> str:
    """The credential of `authorization: Bearer <credential>`, or "" (never raises)."""
    value = metadata.get(AUTHORIZATION, "")
    if isinstance(value, bytes):
        return ""
    scheme, _, credential = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return credential.strip()
