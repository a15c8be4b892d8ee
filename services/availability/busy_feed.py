"""Feeds each clinic's in-memory busy time (busy_cache.py) from reservation: one ListBusy over
the booking horizon, then WatchSchedule from the cursor that ListBusy read in the same snapshot,
so no change between the two is missed or applied twice.

Staleness: a commit wakes reservation's watcher at once (LISTEN/NOTIFY) and it polls every
second anyway, so a change reaches this cache within about a second (normally milliseconds).
Offers may lag that long; holds stay authoritative (the exclusion constraint refuses a stale
offer with alternatives, never double-books).

Per clinic, started by the first question (answered by ListBusy meanwhile), stopped after
IDLE_SECONDS without questions. A skipped change, a change without its occupied time or a
broken stream drops the state (questions go to ListBusy) and reloads it; the stream is renewed
every STREAM_SECONDS with a fresh load, which also moves the covered window with the calendar.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import grpc
from prometheus_client import Counter, Gauge

from booking.common.v1 import common_pb2
from booking.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from common.deadlines import SERVICE_TO_SERVICE
from common.logs import detached_task
from common.timestamps import Clock, from_timestamp
from common.timestamps import to_timestamp as timestamp
from services.availability.busy_cache import KEEP_PAST, Change, Interval, TenantBusy
from services.availability.clinic import Clinic
from services.availability.slots import Busy

log = logging.getLogger("services.availability")

IDLE_SECONDS = 900.0
SWEEP_SECONDS = 30.0
STREAM_SECONDS = 3600.0
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)
# Loaded beyond the clinic's horizon, so the window stays wide enough for weeks between loads.
EXTRA_DAYS = 30
BUSY_STATUSES = frozenset(
    {reservation_pb2.RESERVATION_STATUS_HELD, reservation_pb2.RESERVATION_STATUS_CONFIRMED,
     reservation_pb2.RESERVATION_STATUS_BLOCKED}
)  # fmt: skip

BUSY_READS = Counter(
    "availability_busy_reads", "Busy-time look-ups, by where they were answered (cache or list_busy)", ["source"]
)
BUSY_RELOADS = Counter("availability_busy_cache_reloads", "Busy caches dropped and reloaded, by why", ["reason"])
BUSY_TENANTS = Gauge("availability_busy_cache_tenants", "Clinics whose busy time is answered from memory")

StubSource = Callable[[], reservation_pb2_grpc.ReservationServiceStub | None]


class _Dropped(Exception):
    """The feed cannot be trusted any more: reload."""


def change_of(message: reservation_pb2.ScheduleChange) -> Change:
    """A feed message as a cache change (_Dropped when it does not say which time it takes)."""
    try:
        cursor = int(message.cursor)
    except ValueError:
        raise _Dropped("cursor") from None
    if message.to_status not in BUSY_STATUSES:
        return Change(cursor, message.reservation_id, None)
    if not message.HasField("occupied"):
        raise _Dropped("occupied")
    expires = from_timestamp(message.hold_expires_at) if message.HasField("hold_expires_at") else None
    interval = Interval(
        message.reservation_id, message.provider_id, from_timestamp(message.occupied.start),
        from_timestamp(message.occupied.end), expires,
    )  # fmt: skip
    return Change(cursor, message.reservation_id, interval)


def interval_of(item: reservation_pb2.BusyInterval) -> Interval:
    expires = from_timestamp(item.hold_expires_at) if item.HasField("hold_expires_at") else None
    return Interval(
        item.reservation_id, item.provider_id, from_timestamp(item.range.start), from_timestamp(item.range.end),
        expires,
    )  # fmt: skip


def busy_of(reply: reservation_pb2.ListBusyResponse) -> dict[str, list[Busy]]:
    """A ListBusy answer as busy time by provider (its order kept)."""
    busy: dict[str, list[Busy]] = {}
    for item in reply.busy:
        busy.setdefault(item.provider_id, []).append(
            Busy(from_timestamp(item.range.start), from_timestamp(item.range.end))
        )
    return busy


def horizon_days(clinic: Clinic) -> int:
    """How far ahead busy time can matter: the longest booking window, and a margin for the day
    after the last bookable one (search ranges end two local days later)."""
    rules = [clinic.rules, *(service.rules for service in clinic.services.values())]
    return max(r.max_days_ahead for r in rules) + 3


@dataclass
class _Feed:
    tenant_id: str
    days: int
    used_at: float = field(default_factory=time.monotonic)
    state: TenantBusy | None = None
    task: asyncio.Task[None] | None = None


class BusyFeeds:
    """Every clinic's busy time, from memory when its feed is ready."""

    def __init__(self, stub: StubSource, clock: Clock) -> None:
        self._stub = stub
        self._clock = clock
        self._feeds: dict[str, _Feed] = {}
        self._swept_at = time.monotonic()

    def busy(
        self, tenant_id: str, provider_ids: Sequence[str], start: datetime, end: datetime, days: int
    ) -> dict[str, list[Busy]] | None:
        """The busy time ListBusy would answer now, or None (ask ListBusy) while not known here.
        `days`: the clinic's booking horizon, how far ahead its feed must know."""
        now = time.monotonic()
        if now - self._swept_at > SWEEP_SECONDS:
            self._sweep(now)
        feed = self._feeds.get(tenant_id)
        if feed is None:
            feed = self._feeds[tenant_id] = _Feed(tenant_id, days)
            feed.task = detached_task(self._run(feed), name=f"busy-feed-{tenant_id}")
        feed.used_at = now
        found = None if feed.state is None else feed.state.busy(provider_ids, start, end, self._clock())
        if found is None and feed.state is not None and days > feed.days:
            feed.days = days  # the clinic's horizon grew: load the wider window
            self._restart(feed)
        BUSY_READS.labels("list_busy" if found is None else "cache").inc()
        return found

    def ready(self, tenant_id: str) -> TenantBusy | None:
        feed = self._feeds.get(tenant_id)
        return None if feed is None else feed.state

    async def close(self) -> None:
        feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            await _stop(feed)
        BUSY_TENANTS.set(0)

    def _sweep(self, now: float) -> None:
        self._swept_at = now
        for tenant_id, feed in list(self._feeds.items()):
            if now - feed.used_at > IDLE_SECONDS:
                del self._feeds[tenant_id]
                if feed.task is not None:
                    feed.task.cancel()
            elif feed.state is not None:
                feed.state.prune(self._clock())
        self._count()

    def _restart(self, feed: _Feed) -> None:
        if feed.task is not None:
            feed.task.cancel()
        feed.state = None
        feed.task = detached_task(self._run(feed), name=f"busy-feed-{feed.tenant_id}")

    def _count(self) -> None:
        BUSY_TENANTS.set(sum(1 for f in self._feeds.values() if f.state is not None))

    async def _run(self, feed: _Feed) -> None:
        failures = 0
        while True:
            try:
                await self._follow(feed)
                failures = 0  # the stream was renewed on schedule: load afresh, keep answering meanwhile
            except asyncio.CancelledError:
                raise
            except Exception as error:  # whatever broke, the state may be stale: drop it and reload
                reason = type(error).__name__ if not isinstance(error, grpc.aio.AioRpcError) else error.code().name
                feed.state = None
                self._count()
                BUSY_RELOADS.labels(reason).inc()
                log.warning("busy cache dropped; ListBusy answers until it is reloaded",
                            extra={"tenant_id": feed.tenant_id, "reason": reason})  # fmt: skip
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1

    async def _follow(self, feed: _Feed) -> None:
        """Load the clinic's busy time, then apply its changes until the stream is renewed."""
        stub = self._stub()
        if stub is None:
            raise _Dropped("no reservation service")
        now = self._clock()
        covered = (now - KEEP_PAST, now + timedelta(days=feed.days + EXTRA_DAYS))
        reply = await stub.ListBusy(
            reservation_pb2.ListBusyRequest(
                tenant_id=feed.tenant_id,
                range=common_pb2.TimeRange(start=timestamp(covered[0]), end=timestamp(covered[1])),
            ),
            timeout=SERVICE_TO_SERVICE * 3,
        )
        if not reply.cursor.isdecimal():
            raise _Dropped("cursor")
        state = TenantBusy(int(reply.cursor), (interval_of(item) for item in reply.busy), covered)
        stream = stub.WatchSchedule(
            reservation_pb2.WatchScheduleRequest(tenant_id=feed.tenant_id, cursor=reply.cursor),
            timeout=STREAM_SECONDS,
        )
        feed.state = state
        self._count()
        try:
            async for message in stream:
                state.apply(change_of(message))
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise
        finally:
            stream.cancel()


async def _stop(feed: _Feed) -> None:
    if feed.task is not None:
        feed.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feed.task
