"""gRPC argument errors, one sentence naming the field."""

from __future__ import annotations

from typing import NoReturn

import grpc

from common.logs import mask_phone
from common.phones import to_e164


async def invalid(context: grpc.aio.ServicerContext, message: str) -> NoReturn:
    """Abort with INVALID_ARGUMENT; the message starts with the field name."""
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
    raise AssertionError("unreachable")


async def e164(context: grpc.aio.ServicerContext, field: str, phone: str) -> str:
    """The number in E.164, or INVALID_ARGUMENT naming the field (the number itself masked)."""
    normalized = to_e164(phone)
    if normalized is None:
        await invalid(context, f"{field}: {mask_phone(phone)!r} is not a valid E.164 phone number")
    return normalized
