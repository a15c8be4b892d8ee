"""Holds under real concurrency: PostgreSQL decides, exactly one caller wins."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from booking.availability.v1 import availability_pb2 as apb
from booking.reservation.v1 import reservation_pb2 as pb
from common.grpc_client import open_channel
from services.availability.clinic_file import parse_clinic
from tests.conftest import Clock, Stack
from tests.functional.booking import CAUSE, CLINIC, book, hold, load_clinic, phone, ts, tuesday


@pytest.mark.parametrize("callers", [2, 10, 50])
async def test_many_callers_one_slot_exactly_one_hold(
    stack: Stack, clock: Clock, pool: asyncpg.Pool, callers: int
) -> None:
    await load_clinic(stack, clock)
    replies = await asyncio.gather(*(hold(stack, tuesday(10), call=f"call-{i}") for i in range(callers)))
    winners = [r for r in replies if r.HasField("hold")]
    losers = [r for r in replies if not r.HasField("hold")]
    assert len(winners) == 1
    assert {CAUSE(r.failure.cause) for r in losers} <= {"FAILURE_CAUSE_SLOT_UNAVAILABLE"}
    assert len(losers) == callers - 1
    assert all(r.alternatives for r in losers)  # something else to offer
    taken = winners[0].hold.slot.slot_id
    assert all(a.slot_id != taken for r in losers for a in r.alternatives)  # never offer the lost slot
    rows = await pool.fetchval("SELECT count(*) FROM reservation.reservations WHERE status = 'HELD'")
    assert rows == 1


async def test_overlapping_different_services_never_overlap(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    await load_clinic(stack, clock)
    attempts = [
        hold(stack, tuesday(9, minute), service=service, call=f"call-{i}")
        for i, (minute, service) in enumerate([(m, s) for m in (0, 15, 30, 45) for s in ("s30", "s60")] * 6)
    ]
    replies = await asyncio.gather(*attempts)
    assert sum(r.HasField("hold") for r in replies) >= 1
    overlapping = await pool.fetchval(
        """
        SELECT count(*) FROM reservation.reservations a JOIN reservation.reservations b
          ON a.reservation_id < b.reservation_id AND a.provider_id = b.provider_id AND a.occupied && b.occupied
        WHERE a.status IN ('HELD', 'CONFIRMED') AND b.status IN ('HELD', 'CONFIRMED')
        """
    )
    assert overlapping == 0


async def test_expired_hold_cannot_be_confirmed_and_does_not_block(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    first = await hold(stack, tuesday(11), call="call-a")
    assert first.hold.expires_at.ToDatetime() - clock.now.replace(tzinfo=None) == timedelta(minutes=10)
    clock.advance(minutes=10, seconds=1)
    confirm = await stack.reservation_stub.ConfirmHold(
        pb.ConfirmHoldRequest(tenant_id="acme", hold_id=first.hold.hold_id, call_id="call-a")
    )
    assert CAUSE(confirm.failure.cause) == "FAILURE_CAUSE_LEASE_EXPIRED"
    second = await hold(stack, tuesday(11), call="call-b")
    assert second.HasField("hold")
    statuses = await pool.fetch("SELECT status FROM reservation.reservations ORDER BY created_at")
    assert [r["status"] for r in statuses] == ["EXPIRED", "HELD"]
    # Expired time is offered again, the held time is not.
    clock.advance(minutes=11)
    found = await stack.availability_stub.FindSlots(
        apb.FindSlotsRequest(tenant_id="acme", date="2030-01-08", service_id="s30", provider_id="p1", limit=200)
    )
    assert "2030-01-08T11:00" in [s.local_start for s in found.slots]


async def test_a_new_hold_by_the_same_call_releases_the_previous_one(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    first = await hold(stack, tuesday(9), call="call-x")
    second = await hold(stack, tuesday(14), call="call-x")
    assert first.HasField("hold") and second.HasField("hold")
    rows = await pool.fetch("SELECT status, starts_at FROM reservation.reservations ORDER BY created_at")
    assert [r["status"] for r in rows] == ["RELEASED", "HELD"]
    # A refused new hold keeps the previous one.
    await hold(stack, tuesday(16), call="call-y")
    refused = await hold(stack, tuesday(16), call="call-x")
    assert CAUSE(refused.failure.cause) == "FAILURE_CAUSE_SLOT_UNAVAILABLE"
    live = await pool.fetchval(
        "SELECT count(*) FROM reservation.reservations WHERE call_id = 'call-x' AND status = 'HELD'"
    )
    assert live == 1


async def test_release_call_holds_frees_the_time_at_once(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    await hold(stack, tuesday(9), call="call-end")
    released = await stack.reservation_stub.ReleaseCallHolds(
        pb.ReleaseCallHoldsRequest(tenant_id="acme", call_id="call-end")
    )
    assert released.released == 1
    assert (await hold(stack, tuesday(9), call="call-next")).HasField("hold")


async def test_idempotency_key_same_response_one_row(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    await load_clinic(stack, clock)
    first = await hold(stack, tuesday(10), call="call-i", key="acme:tool-1")
    again = await hold(stack, tuesday(10), call="call-i", key="acme:tool-1")
    assert first.SerializeToString() == again.SerializeToString()
    concurrent = await asyncio.gather(*(hold(stack, tuesday(12), call="call-j", key="acme:tool-2") for _ in range(10)))
    assert len({r.SerializeToString() for r in concurrent}) == 1 and concurrent[0].HasField("hold")
    assert await pool.fetchval("SELECT count(*) FROM reservation.reservations") == 2
    # A different key never returns the earlier hold.
    other = await hold(stack, tuesday(10), call="call-k", key="acme:tool-3")
    assert not other.HasField("hold") and CAUSE(other.failure.cause) == "FAILURE_CAUSE_SLOT_UNAVAILABLE"


async def test_the_same_patient_cannot_hold_two_overlapping_times(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    await book(stack, tuesday(10), 1)
    again = await hold(stack, tuesday(10), provider="p2", call="call-other", patient_phone=phone(1))
    assert CAUSE(again.failure.cause) == "FAILURE_CAUSE_OVERLAPPING_RESERVATION"


async def test_bad_requests_are_invalid_argument_naming_the_field(stack: Stack, clock: Clock) -> None:
    import grpc

    await load_clinic(stack, clock)
    bad = [
        pb.CreateHoldRequest(tenant_id="acme"),
        pb.CreateHoldRequest(tenant_id="acme", slot_id="forged", call_id="c"),
        pb.CreateHoldRequest(tenant_id="acme", slot_id="x", patient=pb.Patient(phone="12")),
    ]
    for request, field in zip(bad, ["slot_id", "slot_id", "patient.phone"], strict=True):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stack.reservation_stub.CreateHold(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (caught.value.details() or "").startswith(field), caught.value.details()


async def test_fifty_callers_on_a_small_pool_never_starve_it(stack: Stack, clock: Clock, database_url: str) -> None:
    """Losers ask availability for alternatives, which calls back into ListBusy: that must not
    happen while a losing caller still holds one of the few pool connections."""

    from booking.availability.v1 import availability_pb2_grpc
    from booking.reservation.v1 import reservation_pb2_grpc
    from common.db import create_pool
    from services.availability.server import create_server as create_availability
    from services.availability.servicer import AvailabilityDeps
    from services.reservation.server import create_server as create_reservation
    from services.reservation.servicer import ReservationDeps

    await load_clinic(stack, clock)
    small = await create_pool(database_url, min_size=1, max_size=4)
    a_deps, r_deps = AvailabilityDeps(pool=small, clock=clock), ReservationDeps(pool=small, clock=clock)
    availability = await create_availability("127.0.0.1", 0, a_deps)
    reservation = await create_reservation("127.0.0.1", 0, r_deps, background=False)
    channels = [open_channel(f"127.0.0.1:{s.port}") for s in (availability, reservation)]
    a_deps.reservation = reservation_pb2_grpc.ReservationServiceStub(channels[1])
    r_deps.availability = availability_pb2_grpc.AvailabilityServiceStub(channels[0])
    stub = reservation_pb2_grpc.ReservationServiceStub(channels[1])
    try:
        async with asyncio.timeout(20):
            replies = await asyncio.gather(
                *(
                    stub.CreateHold(
                        pb.CreateHoldRequest(
                            tenant_id="acme", provider_id="p2", service_id="s30", start=ts(tuesday(13)), call_id=f"c{i}"
                        )
                    )
                    for i in range(50)
                )
            )
        assert sum(r.HasField("hold") for r in replies) == 1
    finally:
        for channel in channels:
            await channel.close()
        await availability.stop(0)
        await reservation.stop(0)
        await small.close()


async def test_sweeper_marks_run_out_holds_expired(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    from services.reservation.repository import ReservationRepository

    await load_clinic(stack, clock)
    await hold(stack, tuesday(9), call="a")
    await hold(stack, tuesday(10), call="b")
    clock.advance(minutes=11)
    await hold(stack, tuesday(11), call="c")
    assert await ReservationRepository(pool).expire_holds(clock.now) == 2
    statuses = [r["status"] for r in await pool.fetch("SELECT status FROM reservation.reservations ORDER BY starts_at")]
    assert statuses == ["EXPIRED", "EXPIRED", "HELD"]


async def test_sweepers_of_several_replicas_expire_every_hold_once_without_deadlock(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    """Four sweepers at once over holds of two clinics (replicas each run one)."""
    from services.reservation.repository import ReservationRepository

    await load_clinic(stack, clock)
    other = {**CLINIC, "tenant_id": "beta", "secret": "beta-secret-0123456789"}
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=parse_clinic(other, {})))
    for minute in range(0, 8 * 60, 30):  # 30-minute visits
        start = tuesday(9) + timedelta(minutes=minute)
        await hold(stack, start, call=f"a{minute}")
        await stack.reservation_stub.CreateHold(
            pb.CreateHoldRequest(
                tenant_id="beta", provider_id="p2", service_id="s30", start=ts(start), call_id=f"b{minute}"
            )
        )
    held = await pool.fetchval("SELECT count(*) FROM reservation.reservations WHERE status = 'HELD'")
    clock.advance(minutes=11)
    repositories = [ReservationRepository(pool) for _ in range(4)]
    counts = await asyncio.gather(*(repository.expire_holds(clock.now) for repository in repositories))
    assert sum(counts) == held == 32
    assert await pool.fetchval("SELECT count(*) FROM reservation.reservations WHERE status = 'EXPIRED'") == held
