"""Outbound gRPC channels: every call carries the request id and has a deadline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from common.deadlines import CLIENT_DEFAULT
from common.logs import REQUEST_ID_HEADER, request_id_var


class _RequestIdAndDeadline(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, default_timeout: float) -> None:
        self.default_timeout = default_timeout

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        metadata = grpc.aio.Metadata(*(client_call_details.metadata or ()))
        request_id = request_id_var.get()
        if request_id and REQUEST_ID_HEADER not in metadata:
            metadata.add(REQUEST_ID_HEADER, request_id)
        timeout = client_call_details.timeout
        if timeout is None:
            timeout = self.default_timeout
        details = grpc.aio.ClientCallDetails(
            method=client_call_details.method,
            timeout=timeout,
            metadata=metadata,
            credentials=client_call_details.credentials,
            wait_for_ready=client_call_details.wait_for_ready,
        )
        return await continuation(details, request)


def open_channel(target: str, default_timeout: float = CLIENT_DEFAULT) -> grpc.aio.Channel:
    """An insecure channel to one of our services (inside the trusted network)."""
    return grpc.aio.insecure_channel(
        target,
        interceptors=[_RequestIdAndDeadline(default_timeout)],
        options=[
            # Reconnect quickly after a peer restarts instead of waiting up to 2 minutes.
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 2000),
            ("grpc.keepalive_time_ms", 30000),
        ],
    )
