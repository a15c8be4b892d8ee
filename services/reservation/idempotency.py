"""Once per idempotency key: a repeated key gets the first reply, stored in the same transaction as
the work it describes (so a reply is never kept for work that rolled back)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from common.db import Connection
from common.grpc_errors import invalid
from services.reservation.repository import ReservationRepository

R = TypeVar("R", bound=Message)


async def check_key(context: grpc.aio.ServicerContext, key: str) -> None:
    """INVALID_ARGUMENT for a key with control characters: a key's lock is named by tenant and key
    joined with one (the unit separator), so a key may never name another lock."""
    if key and not key.isprintable():
        await invalid(context, "idempotency_key: control characters are not allowed")


def _always(_: Message) -> bool:
    return True


async def once(
    repository: ReservationRepository,
    context: grpc.aio.ServicerContext,
    method: str,
    tenant_id: str,
    key: str,
    response_type: type[R],
    work: Callable[[Connection], Awaitable[R]],
    *,
    keep: Callable[[R], bool] = _always,
) -> R:
    """Run `work` in a transaction once per key; `keep` says which replies a repeat must get back
    (others, e.g. a refusal that wrote nothing, let a repeat try again)."""
    await check_key(context, key)

    async def run(conn: Connection) -> R:
        if key:
            try:  # under the key's lock, held until commit: concurrent repeats take turns
                stored = await repository.stored_response(conn, tenant_id, key, method)
            except ValueError as error:
                await invalid(context, f"idempotency_key: {error}")
            if stored is not None:
                return response_type.FromString(stored)
        response = await work(conn)
        if key and keep(response):
            await repository.store_response(conn, tenant_id, key, method, response.SerializeToString())
        return response

    return await repository.transaction(run)
