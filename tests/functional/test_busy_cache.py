"""Availability's busy time from memory (issue #19) against the real stack: after any mix of
holds, confirmations, cancellations, moves, blocks and expiries made by concurrent writers, the
cache answers exactly what reservation's ListBusy answers; a broken stream is reloaded without
losing a change; in the steady state FindSlots asks reservation nothing."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import pytest
from prometheus_client import REGISTRY

from booking.availability.v1 import availability_pb2 as apb
from booking.common.v1 import common_pb2 as C
from booking.reservation.v1 import reservation_pb2 as pb
from booking.reservation.v1 import reservation_pb2_grpc
from common.grpc_client import open_channel
from common.timestamps import from_timestamp
from services.availability.busy_cache import TenantBusy
from services.availability.busy_feed import BusyFeeds
from services.availability.clinic_file import parse_clinic
from services.availability.slots import Busy
from services.reservation.server import create_server as create_reservation
from tests.conftest import Clock, Stack
from tests.functional.booking import CLINIC, NOW, TUESDAY, phone, ts

DESK = pb.StaffAction(actor="desk:test", reason="cache test")
# A service with buffers, so the occupied time differs from the slot.
BUFFERED = {"id": "sbuf", "name": "Buffered", "duration_minutes": 30, "buffer_before_minutes": 10,
            "buffer_after_minutes": 15}  # fmt: skip
PROVIDERS = ("p1", "p2")


@pytest.fixture
async def feeds(stack: Stack, clock: Clock) -> AsyncIterator[BusyFeeds]:
    clock.now = NOW
    clinic = {**CLINIC, "services": [*CLINIC["services"], BUFFERED]}
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=parse_clinic(clinic, {})))
    deps = stack.availability_deps
    deps.busy_feeds = BusyFeeds(lambda: deps.reservation, clock)
    yield deps.busy_feeds
    await deps.busy_feeds.close()
    deps.busy_feeds = None


async def ready(feeds: BusyFeeds, pool: asyncpg.Pool, timeout: float = 5.0) -> TenantBusy:
    """The tenant's cache once it has applied every committed change (started if need be)."""
    feeds.busy("acme", [], NOW, NOW + timedelta(days=1), 63)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        state = feeds.ready("acme")
        last = await pool.fetchval("SELECT last_seq FROM reservation.schedule_counters WHERE tenant_id = 'acme'")
        if state is not None and state.cursor == (last or 0):
            return state
        await asyncio.sleep(0.01)
    raise AssertionError("the cache did not catch up")


async def list_busy(stack: Stack, providers: list[str], start: datetime, end: datetime) -> dict[str, list[Busy]]:
    reply = await stack.reservation_stub.ListBusy(
        pb.ListBusyRequest(tenant_id="acme", provider_ids=providers, range=C.TimeRange(start=ts(start), end=ts(end)))
    )
    found: dict[str, list[Busy]] = {}
    for item in reply.busy:
        found.setdefault(item.provider_id, []).append(
            Busy(from_timestamp(item.range.start), from_timestamp(item.range.end))
        )
    return found


class Writers:
    """Random schedule changes through reservation's real RPCs, many at once."""

    def __init__(self, stack: Stack, rng: random.Random) -> None:
        self.stack, self.rng = stack, rng
        self.holds: list[str] = []
        self.booked: list[str] = []
        self.blocks: list[str] = []
        self.n = 0

    def start(self) -> datetime:
        return TUESDAY.replace(hour=9) + timedelta(days=self.rng.randrange(4), minutes=15 * self.rng.randrange(28))

    async def one(self) -> None:
        self.n += 1
        n, r, rs = self.n, self.rng, self.stack.reservation_stub
        choice = r.random()
        provider, service = r.choice(PROVIDERS), r.choice(["s30", "sbuf", "s60"])
        if choice < 0.35 or not (self.holds or self.booked):
            reply = await rs.CreateHold(pb.CreateHoldRequest(
                tenant_id="acme", provider_id=provider, service_id=service, start=ts(self.start()),
                call_id=f"call-{n}", patient=pb.Patient(name="Pat", phone=phone(n)),
            ))  # fmt: skip
            if reply.HasField("hold"):
                self.holds.append(f"{reply.hold.hold_id}/call-{n}")
        elif choice < 0.55 and self.holds:
            hold_id, call = self.holds.pop(r.randrange(len(self.holds))).split("/")
            confirmed = await rs.ConfirmHold(pb.ConfirmHoldRequest(tenant_id="acme", hold_id=hold_id, call_id=call))
            if confirmed.HasField("appointment"):
                self.booked.append(hold_id)
        elif choice < 0.65 and self.holds:
            hold_id, _ = self.holds.pop(r.randrange(len(self.holds))).split("/")
            await rs.ReleaseHold(pb.ReleaseHoldRequest(tenant_id="acme", hold_id=hold_id))
        elif choice < 0.75 and self.booked:
            cancel = self.booked.pop(r.randrange(len(self.booked)))
            await rs.StaffCancel(pb.StaffCancelRequest(tenant_id="acme", appointment_id=cancel, action=DESK))
        elif choice < 0.85 and self.booked:
            await rs.StaffMove(pb.StaffMoveRequest(
                tenant_id="acme", appointment_id=r.choice(self.booked), start=ts(self.start()), provider_id=provider,
                action=DESK,
            ))  # fmt: skip
        elif choice < 0.93 or not self.blocks:
            start = self.start()
            blocked = await rs.BlockTime(pb.BlockTimeRequest(
                tenant_id="acme", provider_id=provider, action=DESK,
                range=C.TimeRange(start=ts(start), end=ts(start + timedelta(minutes=45))),
            ))  # fmt: skip
            if blocked.block_id:
                self.blocks.append(blocked.block_id)
        else:
            block = self.blocks.pop(r.randrange(len(self.blocks)))
            await rs.UnblockTime(pb.UnblockTimeRequest(tenant_id="acme", block_id=block, action=DESK))


async def compare(stack: Stack, state: TenantBusy, rng: random.Random, clock: Clock, times: int = 12) -> None:
    for _ in range(times):
        start = TUESDAY + timedelta(days=rng.randrange(-1, 5), minutes=15 * rng.randrange(96))
        end = start + timedelta(minutes=15 * rng.randrange(1, 200))
        providers = rng.choice([[], ["p1"], ["p2"], ["p1", "p2"]])
        expected = await list_busy(stack, providers, start, end)
        assert state.busy(providers, start, end, clock()) == expected, (providers, start, end)


async def test_the_cache_answers_exactly_what_list_busy_answers_after_random_concurrent_changes(
    stack: Stack, clock: Clock, feeds: BusyFeeds, pool: asyncpg.Pool
) -> None:
    rng = random.Random(1919)
    writers = Writers(stack, rng)
    # The feed starts while writers are busy: a change between its load and its stream must not be lost.
    await asyncio.gather(*(writers.one() for _ in range(10)), ready(feeds, pool))
    for round_ in range(8):
        await asyncio.gather(*(writers.one() for _ in range(25)))
        if round_ == 4:
            clock.advance(minutes=11)  # every hold so far runs out: neither answer counts it
        state = await ready(feeds, pool)
        await compare(stack, state, rng, clock)
    assert len(feeds.ready("acme") or ()) > 10, "the test made too few changes to mean anything"


async def test_a_broken_stream_is_reloaded_and_no_change_is_lost(
    stack: Stack, clock: Clock, feeds: BusyFeeds, pool: asyncpg.Pool
) -> None:
    rng = random.Random(7)
    await ready(feeds, pool)
    reloads_before = reloads()
    # A second reservation server on the same database takes over; the first one goes away,
    # breaking the stream while changes keep coming through the second.
    other = await create_reservation("127.0.0.1", 0, stack.reservation_deps)
    channel = open_channel(f"127.0.0.1:{other.port}")
    stack.availability_deps.reservation = reservation_pb2_grpc.ReservationServiceStub(channel)
    stack.reservation_stub = stack.availability_deps.reservation
    try:
        await stack.reservation.stop(0)
        writers = Writers(stack, rng)
        await asyncio.gather(*(writers.one() for _ in range(30)))
        state = await ready(feeds, pool, timeout=10)
        await compare(stack, state, rng, clock)
        assert reloads() > reloads_before, "the stream broke, yet the cache was never dropped"
    finally:
        await channel.close()
        await other.stop(0)


def reloads() -> float:
    metric = next(m for m in REGISTRY.collect() if m.name == "availability_busy_cache_reloads")
    return sum(s.value for s in metric.samples if s.name.endswith("_total"))


def list_busy_calls() -> float:
    labels = {"grpc_service": "booking.reservation.v1.ReservationService", "grpc_method": "ListBusy", "grpc_code": "OK"}
    return REGISTRY.get_sample_value("grpc_server_handled_total", labels) or 0.0


async def test_find_slots_asks_reservation_nothing_once_the_cache_is_ready_and_sees_a_hold_within_a_second(
    stack: Stack, clock: Clock, feeds: BusyFeeds, pool: asyncpg.Pool
) -> None:
    ask = apb.FindSlotsRequest(tenant_id="acme", service_id="s30", provider_id="p1", date="2030-01-08", limit=200)
    cold = await stack.availability_stub.FindSlots(ask)  # not ready yet: answered through ListBusy
    await ready(feeds, pool)
    before = list_busy_calls()
    warm = await asyncio.gather(*(stack.availability_stub.FindSlots(ask) for _ in range(20)))
    assert list_busy_calls() == before
    assert all(list(w.slots) == list(cold.slots) for w in warm)
    taken = cold.slots[3]
    held = await stack.reservation_stub.CreateHold(
        pb.CreateHoldRequest(tenant_id="acme", slot_id=taken.slot_id, call_id="c1", patient=pb.Patient(name="A"))
    )
    assert held.HasField("hold")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 1.0
    while taken.slot_id in {s.slot_id for s in (await stack.availability_stub.FindSlots(ask)).slots}:
        assert loop.time() < deadline, "a hold was still offered a second later"
        await asyncio.sleep(0.01)
    assert list_busy_calls() == before


async def test_a_stopping_reservation_ends_the_feed_at_once_and_availability_asks_list_busy_again(
    stack: Stack, clock: Clock, feeds: BusyFeeds, pool: asyncpg.Pool
) -> None:
    await ready(feeds, pool)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await stack.reservation.stop(5.0)  # the feed's stream must not hold the grace period
    assert loop.time() - started < 2.5
    while feeds.ready("acme") is not None:
        assert loop.time() - started < 5.0, "the cache kept answering with its stream gone"
        await asyncio.sleep(0.01)
