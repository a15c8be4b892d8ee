"""One `WatchSchedule` stream per tenant per gateway process, shared by every open console page
of that tenant (server-sent events). It starts with the first page and stops with the last; on
an error or its deadline it reconnects with the last cursor seen, so no change is missed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import grpc

from booking.reservation.v1 import reservation_pb2 as rpb
from booking.reservation.v1 import reservation_pb2_grpc
from common.logs import detached_task

log = logging.getLogger("gateway.console")
# A stream is re-opened this often anyway (with its cursor): no call lives forever.
STREAM_SECONDS = 300.0
RETRY_FIRST, RETRY_MAX = 0.2, 5.0
QUEUE_SIZE = 64  # a page that reads slowly loses changes, not memory: any one change refreshes it

Stub = Callable[[], reservation_pb2_grpc.ReservationServiceStub]


@dataclass
class _Feed:
    subscribers: set[asyncio.Queue[rpb.ScheduleChange | None]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    cursor: str = ""


class LiveSchedule:
    def __init__(self, stub: Stub) -> None:
        self.stub = stub
        self._feeds: dict[str, _Feed] = {}
        self.streams_opened = 0  # how many WatchSchedule calls were made (tests count them)

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant: str) -> AsyncIterator[asyncio.Queue[rpb.ScheduleChange | None]]:
        """A queue of the tenant's changes (None: the gateway is stopping)."""
        queue: asyncio.Queue[rpb.ScheduleChange | None] = asyncio.Queue(QUEUE_SIZE)
        feed = self._feeds.setdefault(tenant, _Feed())
        feed.subscribers.add(queue)
        if feed.task is None:
            feed.task = detached_task(self._follow(tenant, feed), name=f"console-watch-{tenant}")
        try:
            yield queue
        finally:
            feed.subscribers.discard(queue)
            if not feed.subscribers and self._feeds.get(tenant) is feed:
                del self._feeds[tenant]
                if feed.task is not None:
                    feed.task.cancel()

    async def _follow(self, tenant: str, feed: _Feed) -> None:
        delay = RETRY_FIRST
        while True:
            request = rpb.WatchScheduleRequest(tenant_id=tenant, cursor=feed.cursor, from_now=not feed.cursor)
            self.streams_opened += 1
            call = self.stub().WatchSchedule(request, timeout=STREAM_SECONDS)
            try:
                async for change in call:
                    feed.cursor = change.cursor
                    delay = RETRY_FIRST
                    for queue in feed.subscribers:
                        with contextlib.suppress(asyncio.QueueFull):
                            queue.put_nowait(change)
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                    log.warning("schedule stream lost", extra={"tenant": tenant, "code": error.code().name})
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RETRY_MAX)
            finally:
                call.cancel()

    async def close(self) -> None:
        """Ends every page's stream (at shutdown) and stops the watches."""
        feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            for queue in feed.subscribers:
                if queue.full():
                    queue.get_nowait()  # room for the end: a page that reads slowly still stops
                queue.put_nowait(None)
            if feed.task is not None:
                feed.task.cancel()
        await asyncio.gather(*(f.task for f in feeds if f.task is not None), return_exceptions=True)
