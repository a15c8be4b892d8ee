"""The reply cache: tenant + call id + toolCallId -> the first reply, so a Vapi retry gets the same
bytes and no second side effect. Concurrent duplicates in this process share one run.

Across gateway replicas, answers of tools that change something are also kept by reservation
(`SharedReplies`: KeepToolReply after running, the first answer wins), so a retry that another
replica receives gets the same bytes too. Nothing is looked up before running (that would be a
round trip on every such tool call, to find something only after a gateway died): the retry runs,
every change it asks reservation for is answered from the tool call's idempotency key without
being done again, and keeping its answer hands back the first one. Reads (READ_ONLY) are not
shared: a replayed read has nothing to repeat and is answered afresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import grpc

from booking.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from common.deadlines import LOOKUP

REPLY_CACHE_SECONDS = 3600.0
REPLY_CACHE_SIZE = 20_000
READ_ONLY = frozenset({"check_availability", "find_appointments"})

log = logging.getLogger("gateway.replies")


class ReplyCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[float, asyncio.Future[str]]] = {}

    async def get_or_run(self, key: tuple[str, str], run: Callable[[], Awaitable[tuple[str, bool]]]) -> str:
        """The cached reply for `key`, else `run()`'s; kept only when `run` says so (not a fault)."""
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < REPLY_CACHE_SECONDS:
            return await asyncio.shield(entry[1])
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._entries[key] = (now, future)
        try:
            result, keep = await run()
        except BaseException as error:
            self._entries.pop(key, None)
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        future.set_result(result)
        if not keep:
            self._entries.pop(key, None)  # a fault: let a retry try again
        if len(self._entries) > REPLY_CACHE_SIZE:
            for old in sorted(self._entries, key=lambda k: self._entries[k][0])[: REPLY_CACHE_SIZE // 10]:
                self._entries.pop(old, None)
        return result


class SharedReplies:
    """Answers kept by reservation for every gateway replica. A failure to reach it is logged and
    the call goes on as if nothing were kept (reservation's own idempotency keys still hold)."""

    def __init__(self, reservation: Callable[[], reservation_pb2_grpc.ReservationServiceStub]) -> None:
        self._reservation = reservation

    async def keep(self, tenant: str, key: str, reply: str) -> str:
        try:
            kept: reservation_pb2.KeepToolReplyResponse = await self._reservation().KeepToolReply(
                reservation_pb2.KeepToolReplyRequest(tenant_id=tenant, key=key, reply=reply), timeout=LOOKUP
            )
        except grpc.aio.AioRpcError as error:
            log.warning("shared replies unavailable", extra={"code": error.code().name})
            return reply
        return kept.reply
