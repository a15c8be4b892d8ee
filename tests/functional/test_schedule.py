"""SPEC §10, the clinic's side over gRPC: appointments listed a page at a time, a change stream
that resumes without gaps or duplicates, and staff operations recorded with who and why."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import grpc
import pytest

from booking.availability.v1 import availability_pb2 as apb
from booking.common.v1 import common_pb2 as C
from booking.reservation.v1 import reservation_pb2 as pb
from booking.reservation.v1 import reservation_pb2_grpc
from services.availability.clinic_file import parse_clinic
from services.reservation.schedule import WATCH_POLL_SECONDS
from tests.conftest import Clock, Stack
from tests.functional.booking import CAUSE, CLINIC, TUESDAY, book, hold, load_clinic, phone, ts, tuesday

DESK = pb.StaffAction(actor="desk:anna", reason="walk-in")


def day(offset: int, hour: int, minute: int = 0) -> datetime:
    return (TUESDAY + timedelta(days=offset)).replace(hour=hour, minute=minute)


def week_range() -> C.TimeRange:
    return C.TimeRange(start=ts(TUESDAY), end=ts(TUESDAY + timedelta(days=7)))


async def staff_book(stack: Stack, start: datetime, n: int, **fields: object) -> pb.StaffBookResponse:
    request = pb.StaffBookRequest(
        tenant_id="acme", provider_id=str(fields.pop("provider", "p1")), service_id=str(fields.pop("service", "s30")),
        start=ts(start), patient=pb.Patient(name=f"Patient {n}", phone=phone(n)), action=DESK, **fields,  # type: ignore[arg-type]
    )  # fmt: skip
    reply: pb.StaffBookResponse = await stack.reservation_stub.StaffBook(request)
    return reply


def free_times(count: int) -> list[tuple[datetime, str]]:
    """`count` non-overlapping 30-minute times, Tuesday to Friday, both providers."""
    times = [(day(d, 9) + timedelta(minutes=30 * i), p) for d in range(4) for p in ("p1", "p2") for i in range(16)]
    return times[:count]


async def list_all(stack: Stack, page_size: int, between: AsyncIterator[None] | None = None) -> list[pb.Appointment]:
    seen: list[pb.Appointment] = []
    token = ""
    while True:
        page = await stack.reservation_stub.ListAppointments(
            pb.ListAppointmentsRequest(tenant_id="acme", range=week_range(), page_size=page_size, page_token=token)
        )
        seen.extend(page.appointments)
        if between is not None:
            await anext(between, None)
        if not page.next_page_token:
            return seen
        token = page.next_page_token


async def test_pages_over_120_appointments_with_concurrent_inserts_never_repeat_or_skip(
    stack: Stack, clock: Clock
) -> None:
    await load_clinic(stack, clock)
    times = free_times(128)
    for batch in range(0, 120, 20):
        replies = await asyncio.gather(
            *(staff_book(stack, start, n, provider=p) for n, (start, p) in enumerate(times[batch : batch + 20], batch))
        )
        assert all(r.HasField("appointment") for r in replies), [r.failure for r in replies]
    before = await list_all(stack, 500)
    assert len(before) == 120

    async def insert_while_paging() -> AsyncIterator[None]:
        for n, (start, p) in enumerate(times[120:], 120):  # concurrent writers between page reads
            await asyncio.gather(staff_book(stack, start, n, provider=p), asyncio.sleep(0))
            yield

    paged = await list_all(stack, 7, insert_while_paging())
    ids = [a.appointment_id for a in paged]
    assert len(ids) == len(set(ids)), "an appointment was listed twice"
    assert {a.appointment_id for a in before} <= set(ids), "an appointment was skipped"
    keys = [(a.slot.start.ToDatetime(), a.appointment_id) for a in paged]
    assert keys == sorted(keys)


async def test_page_size_defaults_to_50_and_filters_by_provider_and_status(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    for n, (start, p) in enumerate(free_times(60)):
        assert (await staff_book(stack, start, n, provider=p)).HasField("appointment")
    first = await stack.reservation_stub.ListAppointments(
        pb.ListAppointmentsRequest(tenant_id="acme", range=week_range())
    )
    assert len(first.appointments) == 50 and first.next_page_token
    cancelled = first.appointments[0]
    await stack.reservation_stub.StaffCancel(
        pb.StaffCancelRequest(tenant_id="acme", appointment_id=cancelled.appointment_id, action=DESK)
    )
    only = await stack.reservation_stub.ListAppointments(
        pb.ListAppointmentsRequest(
            tenant_id="acme", range=week_range(), provider_ids=["p2"], statuses=[pb.RESERVATION_STATUS_CANCELED]
        )
    )
    assert [a.appointment_id for a in only.appointments] == (
        [cancelled.appointment_id] if cancelled.slot.provider_id == "p2" else []
    )


@pytest.mark.parametrize("token", ["garbage!", "eyJzIjoxfQ"])
async def test_a_tampered_page_token_is_invalid_argument_naming_it(stack: Stack, clock: Clock, token: str) -> None:
    await load_clinic(stack, clock)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stack.reservation_stub.ListAppointments(
            pb.ListAppointmentsRequest(tenant_id="acme", range=week_range(), page_token=token)
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in (raised.value.details() or "")


async def test_a_page_token_is_refused_for_other_filters(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    for n, (start, p) in enumerate(free_times(3)):
        await staff_book(stack, start, n, provider=p)
    page = await stack.reservation_stub.ListAppointments(
        pb.ListAppointmentsRequest(tenant_id="acme", range=week_range(), page_size=1)
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stack.reservation_stub.ListAppointments(
            pb.ListAppointmentsRequest(
                tenant_id="acme", range=week_range(), page_size=1, page_token=page.next_page_token, provider_ids=["p1"]
            )
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in (raised.value.details() or "")


async def test_a_tenant_key_cannot_list_or_watch_another_tenant(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    other = parse_clinic({**CLINIC, "tenant_id": "other", "secret": "other-secret-0123456789"}, {})
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=other))
    key = (await stack.availability_stub.IssueApiKey(apb.IssueApiKeyRequest(tenant_id="acme", label="t"))).key
    metadata = (("authorization", f"Bearer {key}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.reservation.port}") as channel:
        stub = reservation_pb2_grpc.ReservationServiceStub(channel)
        own = await stub.ListAppointments(
            pb.ListAppointmentsRequest(tenant_id="acme", range=week_range()), metadata=metadata
        )
        assert not own.appointments
        with pytest.raises(grpc.aio.AioRpcError) as listed:
            await stub.ListAppointments(
                pb.ListAppointmentsRequest(tenant_id="other", range=week_range()), metadata=metadata
            )
        assert listed.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as watched:
            async for _ in stub.WatchSchedule(pb.WatchScheduleRequest(tenant_id="other"), metadata=metadata, timeout=3):
                break
        assert watched.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def read_changes(stack: Stack, cursor: str, count: int) -> list[pb.ScheduleChange]:
    """`count` changes after `cursor`, then hang up (a disconnect mid-stream)."""
    seen: list[pb.ScheduleChange] = []
    call = stack.reservation_stub.WatchSchedule(pb.WatchScheduleRequest(tenant_id="acme", cursor=cursor))
    async with asyncio.timeout(30):
        async for change in call:
            seen.append(change)
            if len(seen) == count:
                break
    call.cancel()
    return seen


async def test_watch_resumes_after_a_disconnect_with_no_gap_or_duplicate_under_20_concurrent_bookings(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    times = free_times(20)
    bookings = asyncio.gather(*(book(stack, start, n, provider=p) for n, (start, p) in enumerate(times)))
    first = await read_changes(stack, "", 7)  # while the bookings are being written
    second = await read_changes(stack, first[-1].cursor, 13)
    await bookings
    rest = await read_changes(stack, second[-1].cursor, 40 - 20)
    changes = first + second + rest
    assert [int(c.cursor) for c in changes] == list(range(1, 41))
    recorded = await pool.fetch(
        "SELECT reservation_id::text, to_status FROM reservation.reservation_events ORDER BY seq"
    )
    assert [(c.reservation_id, pb.ReservationStatus.Name(c.to_status)) for c in changes] == [
        (r["reservation_id"], f"RESERVATION_STATUS_{r['to_status']}") for r in recorded
    ]
    kinds = [pb.ScheduleChangeKind.Name(c.kind) for c in changes]
    assert kinds.count("SCHEDULE_CHANGE_KIND_HELD") == 20 and kinds.count("SCHEDULE_CHANGE_KIND_CONFIRMED") == 20
    for reservation_id in {c.reservation_id for c in changes}:  # each one's changes in the order they happened
        assert [c.kind for c in changes if c.reservation_id == reservation_id] == [
            pb.SCHEDULE_CHANGE_KIND_HELD,
            pb.SCHEDULE_CHANGE_KIND_CONFIRMED,
        ]


async def test_watch_streams_a_live_change_after_the_history_as_soon_as_it_commits(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    booked = await book(stack, tuesday(10), 1)
    history = await read_changes(stack, "", 2)
    live = asyncio.ensure_future(read_changes(stack, history[-1].cursor, 1))
    await asyncio.sleep(0.3)  # the watcher is idle, waiting
    await stack.reservation_stub.StaffMove(
        pb.StaffMoveRequest(tenant_id="acme", appointment_id=booked.appointment_id, start=ts(tuesday(14)),
                            action=pb.StaffAction(actor="desk:anna", reason="doctor late"))
    )  # fmt: skip
    committed = time.monotonic()
    [moved] = await live
    # Woken by the commit's notification, not by its next poll (WATCH_POLL_SECONDS).
    assert time.monotonic() - committed < WATCH_POLL_SECONDS / 2
    assert moved.kind == pb.SCHEDULE_CHANGE_KIND_MOVED and moved.reservation_id == booked.appointment_id
    assert moved.range.start == ts(tuesday(14)) and moved.action.reason == "doctor late"


async def test_block_time_makes_a_slot_unbookable_and_unoffered_until_unblocked(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)

    async def offered() -> list[str]:
        found = await stack.availability_stub.FindSlots(
            apb.FindSlotsRequest(tenant_id="acme", date="2030-01-08", service_id="s30", provider_id="p1", limit=100)
        )
        return [s.local_start for s in found.slots]

    assert "2030-01-08T10:30" in await offered()
    blocked = await stack.reservation_stub.BlockTime(
        pb.BlockTimeRequest(
            tenant_id="acme", provider_id="p1", range=C.TimeRange(start=ts(tuesday(10)), end=ts(tuesday(12))),
            action=pb.StaffAction(actor="desk:anna", reason="dentist appointment"),
        )
    )  # fmt: skip
    assert blocked.block_id and not blocked.HasField("failure")
    refused = await hold(stack, tuesday(10, 30))
    assert CAUSE(refused.failure.cause) == "FAILURE_CAUSE_SLOT_UNAVAILABLE"
    assert not {"2030-01-08T10:00", "2030-01-08T10:30", "2030-01-08T11:30"} & set(await offered())

    booked = await book(stack, tuesday(14), 1)
    over = await stack.reservation_stub.BlockTime(
        pb.BlockTimeRequest(
            tenant_id="acme", provider_id="p1", range=C.TimeRange(start=ts(tuesday(14)), end=ts(tuesday(15))),
            action=DESK,
        )
    )  # fmt: skip
    assert CAUSE(over.failure.cause) == "FAILURE_CAUSE_SLOT_UNAVAILABLE" and not over.block_id
    assert booked.status == pb.RESERVATION_STATUS_CONFIRMED

    unblock = pb.UnblockTimeRequest(tenant_id="acme", block_id=blocked.block_id, action=DESK)
    assert (await stack.reservation_stub.UnblockTime(unblock)).unblocked
    assert not (await stack.reservation_stub.UnblockTime(unblock)).unblocked
    assert "2030-01-08T10:30" in await offered()
    assert (await hold(stack, tuesday(10, 30), call="call-9")).HasField("hold")


async def test_staff_book_without_a_code_even_when_the_clinic_requires_one(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    held = await hold(stack, tuesday(9), service="verified", patient_phone=phone(1))
    caller = await stack.reservation_stub.ConfirmHold(
        pb.ConfirmHoldRequest(tenant_id="acme", hold_id=held.hold.hold_id, call_id="call-1")
    )
    assert CAUSE(caller.failure.cause) == "FAILURE_CAUSE_OTP_REQUIRED"
    staff = await staff_book(stack, tuesday(11), 2, service="verified", idempotency_key="desk-1")
    assert staff.appointment.status == pb.RESERVATION_STATUS_CONFIRMED
    again = await staff_book(stack, tuesday(11), 2, service="verified", idempotency_key="desk-1")
    assert again.appointment.appointment_id == staff.appointment.appointment_id
    taken = await staff_book(stack, tuesday(11), 3, service="verified")
    assert CAUSE(taken.failure.cause) == "FAILURE_CAUSE_SLOT_UNAVAILABLE"


async def test_staff_operations_need_an_actor(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stack.reservation_stub.BlockTime(
            pb.BlockTimeRequest(
                tenant_id="acme", provider_id="p1", range=C.TimeRange(start=ts(tuesday(10)), end=ts(tuesday(11)))
            )
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "action.actor" in (raised.value.details() or "")


async def test_staff_reasons_and_actors_are_recorded_in_history(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    await load_clinic(stack, clock)
    booked = await staff_book(stack, tuesday(10), 1)
    appointment_id = booked.appointment.appointment_id
    clock.now = clock.now + timedelta(hours=20)  # inside the 24 h cut-off: a caller could not cancel now
    moved = await stack.reservation_stub.StaffMove(
        pb.StaffMoveRequest(tenant_id="acme", appointment_id=appointment_id, start=ts(tuesday(15)),
                            action=pb.StaffAction(actor="desk:bob", reason="doctor late"))
    )  # fmt: skip
    assert moved.appointment.slot.start == ts(tuesday(15)), moved.failure
    cancelled = await stack.reservation_stub.StaffCancel(
        pb.StaffCancelRequest(tenant_id="acme", appointment_id=appointment_id,
                              action=pb.StaffAction(actor="emr-sync", reason="patient called the desk"))
    )  # fmt: skip
    assert cancelled.appointment.status == pb.RESERVATION_STATUS_CANCELED
    assert cancelled.appointment.cancel_reason == "patient called the desk"
    history = await pool.fetch(
        "SELECT from_status, to_status, actor, reason FROM reservation.reservation_events "
        "WHERE reservation_id = $1::uuid ORDER BY seq",
        appointment_id,
    )
    assert [tuple(r) for r in history] == [
        (None, "HELD", "desk:anna", "walk-in"),
        ("HELD", "CONFIRMED", "desk:anna", "walk-in"),
        ("CONFIRMED", "CONFIRMED", "desk:bob", "doctor late"),
        ("CONFIRMED", "CANCELED", "emr-sync", "patient called the desk"),
    ]
    # The assistant's own changes name no actor: the setting lasts only for the staff transaction.
    other = await book(stack, tuesday(9), 2)
    rows = await pool.fetch(
        "SELECT actor, reason FROM reservation.reservation_events WHERE reservation_id = $1::uuid", other.appointment_id
    )
    assert {tuple(r) for r in rows} == {("", "")}


# --- acceptance sizes (issue #17): 1 000 appointments paged; 50 concurrent writers watched --------
ALL_WEEK = {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
BUSY_CLINIC = {**CLINIC, "providers": [{"id": f"p{n}", "name": f"Dr. {n}", "hours": ALL_WEEK} for n in range(1, 11)]}


async def staff_book_many(stack: Stack, times: list[tuple[datetime, str]], at_once: int = 50) -> None:
    for batch in range(0, len(times), at_once):
        chunk = times[batch : batch + at_once]
        replies = await asyncio.gather(
            *(staff_book(stack, start, n, provider=p) for n, (start, p) in enumerate(chunk, batch))
        )
        assert all(r.HasField("appointment") for r in replies), [r.failure for r in replies if r.HasField("failure")]


async def page_through(stack: Stack, page_size: int) -> tuple[list[pb.Appointment], list[int]]:
    """Every appointment of the week, and the size of each page."""
    seen: list[pb.Appointment] = []
    sizes: list[int] = []
    token = ""
    while True:
        page = await stack.reservation_stub.ListAppointments(
            pb.ListAppointmentsRequest(tenant_id="acme", range=week_range(), page_size=page_size, page_token=token)
        )
        seen.extend(page.appointments)
        sizes.append(len(page.appointments))
        if not page.next_page_token:
            return seen, sizes
        token = page.next_page_token


async def test_paging_over_1000_appointments_has_no_gap_no_duplicate_a_stable_order_and_bounded_pages(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    busy = parse_clinic(BUSY_CLINIC, {})
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=busy))
    times = [
        (day(d, 9) + timedelta(minutes=30 * i), f"p{p}") for d in range(7) for p in range(1, 11) for i in range(16)
    ]
    await staff_book_many(stack, times[:1000])
    stored = await pool.fetch(
        "SELECT reservation_id::text AS id FROM reservation.reservations WHERE status = 'CONFIRMED' "
        "ORDER BY starts_at, reservation_id"
    )
    assert len(stored) == 1000

    paged, sizes = await page_through(stack, 137)
    assert [a.appointment_id for a in paged] == [r["id"] for r in stored]  # no gap, no duplicate, (start, id) order
    assert sizes == [137] * 7 + [1000 - 7 * 137]
    again, _ = await page_through(stack, 137)
    assert [a.appointment_id for a in again] == [a.appointment_id for a in paged]  # stable

    _, capped = await page_through(stack, 100_000)
    assert capped == [500, 500]  # at most 500 a page, and no empty last page
    _, default = await page_through(stack, 0)
    assert default == [50] * 20
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stack.reservation_stub.ListAppointments(
            pb.ListAppointmentsRequest(tenant_id="acme", range=week_range(), page_size=-1)
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_size" in (raised.value.details() or "")


async def test_watch_under_50_concurrent_writers_resumed_after_each_disconnect_sees_every_change_once_in_order(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    times = free_times(50)

    async def writer(n: int, start: datetime, provider: str) -> None:
        booked = await book(stack, start, n, provider=provider)  # held, confirmed
        if n % 2:
            await stack.reservation_stub.StaffCancel(  # and cancelled, for half of them
                pb.StaffCancelRequest(tenant_id="acme", appointment_id=booked.appointment_id, action=DESK)
            )

    writing = asyncio.gather(*(writer(n, start, p) for n, (start, p) in enumerate(times)))
    total = 50 * 2 + 25
    changes: list[pb.ScheduleChange] = []
    chunk = 0
    while len(changes) < total:  # hang up every few changes and resume from the last cursor seen
        chunk = chunk % 11 + 3
        changes += await read_changes(stack, changes[-1].cursor if changes else "", min(chunk, total - len(changes)))
    await writing
    assert [int(c.cursor) for c in changes] == list(range(1, total + 1))
    recorded = await pool.fetch(
        "SELECT seq, reservation_id::text AS id, to_status FROM reservation.reservation_events ORDER BY seq"
    )
    assert [(int(c.cursor), c.reservation_id, c.to_status) for c in changes] == [
        (r["seq"], r["id"], pb.ReservationStatus.Value(f"RESERVATION_STATUS_{r['to_status']}")) for r in recorded
    ]
    for reservation_id in {c.reservation_id for c in changes}:
        kinds = [c.kind for c in changes if c.reservation_id == reservation_id]
        assert kinds[:2] == [pb.SCHEDULE_CHANGE_KIND_HELD, pb.SCHEDULE_CHANGE_KIND_CONFIRMED]
        assert kinds[2:] in ([], [pb.SCHEDULE_CHANGE_KIND_CANCELED])
    more = asyncio.ensure_future(read_changes(stack, changes[-1].cursor, 1))
    await asyncio.sleep(WATCH_POLL_SECONDS * 1.5)
    assert not more.done()  # nothing after the last change: the stream waits, it does not repeat
    more.cancel()
