"""Outbound gRPC channels: every call carries the service token and the request id, and has a
deadline; TLS/mTLS when this process's settings ask for it (common/security.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from common.deadlines import CLIENT_DEFAULT
from common.grpc_targets import channel_target, service_config
from common.logs import REQUEST_ID_HEADER, request_id_var
from common.security import AUTHORIZATION, GrpcSecurity, process_security


class _CallDetails:
    """Adds the credential, the request id and a default deadline to every outgoing call."""

    def __init__(self, default_timeout: float, credential: tuple[tuple[str, str], ...]) -> None:
        self.default_timeout = default_timeout
        self.credential = credential

    def details(self, call: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(call.metadata or ()))
        if AUTHORIZATION not in metadata:  # a caller may present its own (tests, tenant keys)
            for key, value in self.credential:
                metadata.add(key, value)
        request_id = request_id_var.get()
        if request_id and REQUEST_ID_HEADER not in metadata:
            metadata.add(REQUEST_ID_HEADER, request_id)
        return grpc.aio.ClientCallDetails(
            method=call.method,
            timeout=self.default_timeout if call.timeout is None else call.timeout,
            metadata=metadata,
            credentials=call.credentials,
            wait_for_ready=call.wait_for_ready,
        )


class _Unary(_CallDetails, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(
        self, continuation: Callable[[grpc.aio.ClientCallDetails, Any], Any], call: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:  # fmt: skip
        return await continuation(self.details(call), request)


class _Stream(_CallDetails, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    # The same step: a server-streaming call is started the same way.
    intercept_unary_stream = _Unary.intercept_unary_unary


OPTIONS = [
    # Reconnect quickly after a peer restarts instead of waiting up to 2 minutes.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 30000),
]


def open_channel(
    target: str, default_timeout: float = CLIENT_DEFAULT, security: GrpcSecurity | None = None
) -> grpc.aio.Channel:
    """A channel to one of our services, authenticated with the service token (raises
    ConfigError when this process's INTERNAL_API_TOKEN or TLS settings are missing or bad)."""
    security = security or process_security()
    credential = security.call_metadata()
    interceptors = [_Unary(default_timeout, credential), _Stream(default_timeout, credential)]
    options: list[tuple[str, Any]] = [*OPTIONS, *security.channel_options()]
    config = service_config(target)
    if config is not None:
        options.append(("grpc.service_config", config))
    target = channel_target(target)
    tls = security.channel_credentials()
    if tls is not None:
        return grpc.aio.secure_channel(target, tls, options=options, interceptors=interceptors)
    return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)


def open_sync_channel(target: str, security: GrpcSecurity | None = None) -> grpc.Channel:
    """A blocking channel with the same transport settings (health probes; no credential needed)."""
    security = security or process_security()
    tls = security.channel_credentials()
    options = security.channel_options()
    if tls is not None:
        return grpc.secure_channel(target, tls, options=options)
    return grpc.insecure_channel(target, options=options)
