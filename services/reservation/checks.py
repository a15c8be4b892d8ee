"""Checks of a request's shape shared by every method (a malformed request is INVALID_ARGUMENT)."""

from __future__ import annotations

import grpc

from common.grpc_errors import invalid


async def require(context: grpc.aio.ServicerContext, **fields: str) -> None:
    """Abort naming the first empty field, in the order given."""
    for name, value in fields.items():
        if not value:
            await invalid(context, f"{name} is required")
