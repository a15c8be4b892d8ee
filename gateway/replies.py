"""The reply cache: tenant + call id + toolCallId -> the first reply, so a Vapi retry gets the same
bytes and no second side effect. Concurrent duplicates in this process share one run.

Across gateway replicas, answers of tools that change something are also kept by reservation
(`SharedReplies`: KeepToolReplies after running, the first answer wins), so a retry that another
replica receives gets the same bytes too. Nothing is looked up before running (that would be a
round trip on every such tool call, to find something only after a gateway died): the retry runs,
every change it asks reservation for is answered from the tool call's idempotency key without
being done again, and keeping its answer hands back the first one. Reads (READ_ONLY) are not
shared: a replayed read has nothing to repeat and is answered afresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable

import grpc

from booking.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from common.deadlines import LOOKUP
from common.logs import detached_task

REPLY_CACHE_SECONDS = 3600.0
REPLY_CACHE_SIZE = 20_000
READ_ONLY = frozenset({"check_availability", "find_appointments"})
KEEP_BATCH = 200  # answers per KeepToolReplies request (the service takes up to 500)
MAX_KEY = 300  # the longest key reservation keeps

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


def reply_key(call_id: str, tool_call_id: str) -> str:
    """The key of one tool call's answer: call id + toolCallId (a tool-call id is unique only within
    its call); a digest when that would be longer than reservation keeps (ids come from callers)."""
    key = f"{call_id}:{tool_call_id}"
    if len(key) <= MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class SharedReplies:
    """Answers kept by reservation for every gateway replica. Answers finished while a request is
    in flight wait and go together in the next one (no timer: alone, an answer goes at once;
    under load, one round trip keeps many). A failure to reach reservation is logged and each
    call goes on with its own answer (reservation's idempotency keys still hold)."""

    def __init__(
        self, reservation: Callable[[], reservation_pb2_grpc.ReservationServiceStub], batch: int = KEEP_BATCH
    ) -> None:
        self._reservation = reservation
        self._batch = batch
        self._waiting: list[tuple[reservation_pb2.ToolReply, asyncio.Future[str]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def keep(self, tenant: str, key: str, reply: str) -> str:
        """The answer kept for this key: `reply`, or the one another replica kept first."""
        return await self._ask(reservation_pb2.ToolReply(tenant_id=tenant, key=key, reply=reply))

    async def recall(self, tenant: str, key: str) -> str:
        """The answer kept for this key ("" when none): only for a call that could not be answered,
        in case another replica answered it before."""
        return await self._ask(reservation_pb2.ToolReply(tenant_id=tenant, key=key))

    async def _ask(self, entry: reservation_pb2.ToolReply) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting.append((entry, future))
        if self._sender is None or self._sender.done():
            self._sender = detached_task(self._send_waiting(), name="keep tool replies")
        return await asyncio.shield(future)  # a caller that goes away does not cancel the others

    async def _send_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._batch], self._waiting[self._batch :]
            answers = [entry.reply for entry, _ in batch]  # each its own, unless reservation says
            try:
                kept: reservation_pb2.KeepToolRepliesResponse = await self._reservation().KeepToolReplies(
                    reservation_pb2.KeepToolRepliesRequest(replies=[entry for entry, _ in batch]), timeout=LOOKUP
                )
                if len(kept.replies) == len(batch):
                    answers = list(kept.replies)
            except grpc.aio.AioRpcError as error:
                log.warning("shared replies unavailable", extra={"code": error.code().name, "replies": len(batch)})
            except Exception:  # a closed channel at shutdown, anything: no caller may wait forever
                log.exception("shared replies failed", extra={"replies": len(batch)})
            finally:
                for (_, future), answer in zip(batch, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)
