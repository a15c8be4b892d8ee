"""Reminders end to end with a clock the test moves: scheduled with the booking, due at both offsets,
moved out of quiet hours, moved with the appointment, dropped with it, suppressed for opted-out
numbers, skipped when booked too late, right across a daylight-saving change, and each sent once
however many workers claim at the same time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from booking.availability.v1 import availability_pb2 as apb
from booking.notification.v1 import notification_pb2 as npb
from booking.reservation.v1 import reservation_pb2 as pb
from services.availability.clinic_file import parse_clinic
from services.reservation.reminder_worker import Batch, ReminderWorker
from tests.conftest import Clock, Stack
from tests.functional.booking import CLINIC, NY, book, load_clinic, phone, ts, tuesday

DESK = pb.StaffAction(actor="desk:anna", reason="patient called")


def ny(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


async def deliver(stack: Stack, clock: Clock, at: datetime) -> Batch:
    """Move the clock to `at`, run a reminder claim, and relay what it queued to notification."""
    clock.now = at
    done = await stack.reservation.reminders.run_once()
    await relayed(stack)
    return done


async def relayed(stack: Stack) -> None:
    """Until the outbox is empty (this relay or the background one, which may hold a claim, delivered it)."""
    pool = stack.reservation_deps.pool
    async with asyncio.timeout(10):
        while await pool.fetchval("SELECT count(*) FROM reservation.outbox WHERE delivered_at IS NULL"):
            if not await stack.reservation.relay.run_once():
                await asyncio.sleep(0.02)


async def reminder_texts(pool: asyncpg.Pool, to: str = "") -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT to_phone, body, status, dedupe_key FROM notification.messages "
        "WHERE kind = 'REMINDER' AND ($1 = '' OR to_phone = $1) ORDER BY created_at",
        to,
    )


async def reminders_of(pool: asyncpg.Pool, appointment_id: str) -> list[tuple[str, int, datetime, str]]:
    rows = await pool.fetch(
        "SELECT status, offset_minutes, due_at, skip_reason FROM reservation.reminders "
        "WHERE reservation_id = $1::uuid ORDER BY reminder_id",
        appointment_id,
    )
    return [(r["status"], r["offset_minutes"], r["due_at"], r["skip_reason"]) for r in rows]


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_reminders_are_sent_at_24_and_2_hours_before_and_not_a_minute_earlier(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)  # Monday 06:00 New York
    booked = await book(stack, tuesday(10), 1)
    assert await reminders_of(pool, booked.appointment_id) == [
        ("PENDING", 1440, ny(2030, 1, 7, 10, 0), ""),
        ("PENDING", 120, ny(2030, 1, 8, 8, 0), ""),
    ]
    sent_before = counter("reservation_reminders_sent_total")
    assert (await deliver(stack, clock, ny(2030, 1, 7, 9, 59))).claimed == 0
    assert len((await deliver(stack, clock, ny(2030, 1, 7, 10, 0))).sent) == 1
    [day_before] = await reminder_texts(pool)
    assert day_before["to_phone"] == phone(1) and day_before["status"] == "QUEUED"
    assert "reminder: your short visit with Doctor One is on Tue Jan 8 at 10:00 AM" in day_before["body"]
    assert "Reply Y to confirm or C to cancel." in day_before["body"]
    assert (await deliver(stack, clock, ny(2030, 1, 8, 7, 59))).claimed == 0
    assert len((await deliver(stack, clock, ny(2030, 1, 8, 8, 0))).sent) == 1
    assert (await deliver(stack, clock, ny(2030, 1, 8, 9, 0))).claimed == 0
    assert len(await reminder_texts(pool)) == 2
    assert [s for s, *_ in await reminders_of(pool, booked.appointment_id)] == ["SENT", "SENT"]
    assert counter("reservation_reminders_sent_total") == sent_before + 2


async def test_a_reminder_due_in_quiet_hours_goes_out_the_evening_before_at_20_59(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    booked = await book(stack, tuesday(9), 1)  # 2 h before = 07:00, inside 21:00-08:00
    assert [due for _, _, due, _ in await reminders_of(pool, booked.appointment_id)] == [
        ny(2030, 1, 7, 9, 0),
        ny(2030, 1, 7, 20, 59),
    ]
    await deliver(stack, clock, ny(2030, 1, 7, 9, 0))
    assert (await deliver(stack, clock, ny(2030, 1, 7, 20, 58))).claimed == 0
    assert len((await deliver(stack, clock, ny(2030, 1, 7, 20, 59))).sent) == 1
    assert (await deliver(stack, clock, ny(2030, 1, 8, 7, 0))).claimed == 0  # nothing left for 07:00
    assert len(await reminder_texts(pool)) == 2


async def staff_move(stack: Stack, appointment_id: str, start: datetime) -> pb.Appointment:
    reply = await stack.reservation_stub.StaffMove(
        pb.StaffMoveRequest(tenant_id="acme", appointment_id=appointment_id, start=ts(start), action=DESK)
    )
    assert not reply.HasField("failure"), reply.failure
    appointment: pb.Appointment = reply.appointment
    return appointment


async def patient_move(stack: Stack, appointment_id: str, start: datetime) -> pb.Appointment:
    reply = await stack.reservation_stub.RescheduleAppointment(
        pb.RescheduleAppointmentRequest(tenant_id="acme", appointment_id=appointment_id, start=ts(start))
    )
    assert not reply.HasField("failure"), reply.failure
    appointment: pb.Appointment = reply.appointment
    return appointment


@pytest.mark.parametrize("move", [staff_move, patient_move])
async def test_a_rescheduled_appointment_takes_its_reminders_along(
    stack: Stack, clock: Clock, pool: asyncpg.Pool, move: Any
) -> None:
    await load_clinic(stack, clock)
    booked = await book(stack, tuesday(10), 1)
    wednesday = tuesday(14) + timedelta(days=1)
    await move(stack, booked.appointment_id, wednesday)
    assert await reminders_of(pool, booked.appointment_id) == [
        ("DROPPED", 1440, ny(2030, 1, 7, 10, 0), ""),
        ("DROPPED", 120, ny(2030, 1, 8, 8, 0), ""),
        ("PENDING", 1440, ny(2030, 1, 8, 14, 0), ""),
        ("PENDING", 120, ny(2030, 1, 9, 12, 0), ""),
    ]
    assert (await deliver(stack, clock, ny(2030, 1, 8, 8, 0))).claimed == 0  # the old times pass quietly
    await deliver(stack, clock, ny(2030, 1, 8, 14, 0))
    [text] = await reminder_texts(pool)
    assert "Wed Jan 9 at 2:00 PM" in text["body"]


@pytest.mark.parametrize("by", ["patient", "staff"])
async def test_a_cancelled_appointment_is_never_reminded(
    stack: Stack, clock: Clock, pool: asyncpg.Pool, by: str
) -> None:
    await load_clinic(stack, clock)
    booked = await book(stack, tuesday(10) + timedelta(days=2), 1)  # Thursday: outside the cut-off
    if by == "patient":
        reply: Any = await stack.reservation_stub.CancelAppointment(
            pb.CancelAppointmentRequest(tenant_id="acme", appointment_id=booked.appointment_id)
        )
    else:
        reply = await stack.reservation_stub.StaffCancel(
            pb.StaffCancelRequest(tenant_id="acme", appointment_id=booked.appointment_id, action=DESK)
        )
    assert reply.appointment.status == pb.RESERVATION_STATUS_CANCELED
    assert {s for s, *_ in await reminders_of(pool, booked.appointment_id)} == {"DROPPED"}
    for day in range(4):
        assert (await deliver(stack, clock, ny(2030, 1, 8 + day, 12, 0))).claimed == 0
    assert await reminder_texts(pool) == []


async def test_an_opted_out_number_gets_no_reminder(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    await load_clinic(stack, clock)
    booked = await book(stack, tuesday(10), 1)
    other = await book(stack, tuesday(11), 2)
    await stack.notification_stub.OptOut(npb.OptOutRequest(tenant_id="acme", phone=phone(1), source="test"))
    await deliver(stack, clock, ny(2030, 1, 7, 11, 0))
    texts = {r["to_phone"]: r["status"] for r in await reminder_texts(pool)}
    assert texts == {phone(1): "SUPPRESSED", phone(2): "QUEUED"}
    assert booked.appointment_id != other.appointment_id


async def test_a_reminder_already_due_at_booking_is_skipped_and_counted(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    clock.now = ny(2030, 1, 7, 14, 0)  # Monday afternoon: the 24 h reminder of Tuesday 10:00 is past
    booked = await book(stack, tuesday(10), 1)
    skipped_before = counter("reservation_reminders_skipped_total", reason="booked_late")
    done = await deliver(stack, clock, ny(2030, 1, 7, 14, 1))
    assert done.sent == [] and [reason for _, reason in done.skipped] == ["booked_late"]
    assert counter("reservation_reminders_skipped_total", reason="booked_late") == skipped_before + 1
    await deliver(stack, clock, ny(2030, 1, 8, 8, 0))
    assert [s for s, *_ in await reminders_of(pool, booked.appointment_id)] == ["SKIPPED", "SENT"]
    assert len(await reminder_texts(pool)) == 1


async def test_workers_down_overnight_wait_for_the_end_of_quiet_hours(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    booked = await book(stack, tuesday(10), 1)
    await deliver(stack, clock, ny(2030, 1, 7, 10, 0))
    clock.now = ny(2030, 1, 8, 6, 0)  # the 24 h one went out; imagine the 2 h one claimed at 06:00
    await pool.execute("UPDATE reservation.reminders SET due_at = $1 WHERE status = 'PENDING'", ny(2030, 1, 8, 5, 0))
    done = await deliver(stack, clock, ny(2030, 1, 8, 6, 0))
    assert len(done.postponed) == 1 and len(await reminder_texts(pool)) == 1
    assert (await reminders_of(pool, booked.appointment_id))[1][2] == ny(2030, 1, 8, 8, 0)
    assert len((await deliver(stack, clock, ny(2030, 1, 8, 8, 0))).sent) == 1


async def test_across_the_spring_forward_night_reminders_come_at_the_right_instants(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    sunday_hours = {**CLINIC, "providers": [{"id": "p1", "name": "Dr. One", "hours": {"sun": ["09:00-12:00"]}}]}
    sunday_hours["services"] = [{"id": "s30", "name": "Short", "duration_minutes": 30}]
    clock.now = ny(2030, 3, 8, 12, 0)  # Friday before the change (Sunday 2030-03-10, 02:00 -> 03:00)
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=parse_clinic(sunday_hours, {})))
    booked = await book(stack, datetime(2030, 3, 10, 9, 0, tzinfo=NY), 1)  # 09:00 EDT = 13:00 UTC
    day_before, two_hours = ny(2030, 3, 9, 8, 0), datetime(2030, 3, 10, 1, 59, tzinfo=UTC)
    assert [due for _, _, due, _ in await reminders_of(pool, booked.appointment_id)] == [day_before, two_hours]
    assert datetime(2030, 3, 10, 13, 0, tzinfo=UTC) - day_before == timedelta(hours=24)  # 08:00 EST Saturday
    assert (await deliver(stack, clock, day_before - timedelta(minutes=1))).claimed == 0
    assert len((await deliver(stack, clock, day_before)).sent) == 1
    assert len((await deliver(stack, clock, two_hours)).sent) == 1  # 20:59 EST Saturday, not 07:00 EDT Sunday
    texts = await reminder_texts(pool)
    assert len(texts) == 2 and all("Sun Mar 10 at 9:00 AM" in t["body"] for t in texts)


async def test_three_workers_claiming_at_once_send_each_of_80_reminders_exactly_once(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    for task in stack.reservation.tasks:  # only the workers of this test claim
        if task.get_name() == "reminder-worker":
            task.cancel()
    starts = [tuesday(9) + timedelta(days=d, minutes=30 * i) for d in range(3) for i in range(16)]
    for first in range(0, 40, 10):  # ten at a time: inside the client's deadline on a busy machine
        await asyncio.gather(*(book(stack, starts[n], n, provider="p1") for n in range(first, first + 10)))
    clock.now = ny(2030, 1, 8, 8, 0)  # before the first start, out of quiet hours: make all 80 due now
    await pool.execute("UPDATE reservation.reminders SET due_at = $1", clock.now - timedelta(minutes=1))
    workers = [ReminderWorker(pool, clock=clock, batch=3) for _ in range(3)]
    claimed: list[list[int]] = [[], [], []]

    async def drain(n: int) -> None:
        while (done := await workers[n].run_once()).claimed:
            claimed[n].extend(done.sent + [i for i, _ in done.skipped])

    await asyncio.gather(*(drain(n) for n in range(3)))
    due = await pool.fetch("SELECT reminder_id FROM reservation.reminders WHERE due_at <= $1", clock.now)
    every = [i for ids in claimed for i in ids]
    assert sorted(every) == sorted(r["reminder_id"] for r in due)  # each due one claimed by exactly one worker
    assert all(claimed), "all three workers took part"
    sent = await pool.fetchval("SELECT count(*) FROM reservation.reminders WHERE status = 'SENT'")
    queued = await pool.fetchval("SELECT count(*) FROM reservation.outbox WHERE dedupe_key LIKE 'reminder:%'")
    assert sent == queued == len(due) == 80


async def test_no_reminders_for_a_service_that_turns_them_off_or_a_number_the_clinic_may_not_text(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    services = [
        {"id": "s30", "name": "Short", "duration_minutes": 30},
        {"id": "s60", "name": "Long", "duration_minutes": 60, "rules": {"reminders": {"enabled": False}}},
    ]
    clock.now = ny(2030, 1, 7, 6, 0)
    config = parse_clinic({**CLINIC, "services": services}, {})
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=config))
    off = await book(stack, tuesday(10), 1, service="s60")
    held = await stack.reservation_stub.CreateHold(
        pb.CreateHoldRequest(
            tenant_id="acme", provider_id="p2", service_id="s30", start=ts(tuesday(10)), call_id="call-uk",
            patient=pb.Patient(name="Pat", phone="+447911123456"),
        )
    )  # fmt: skip
    abroad = await stack.reservation_stub.ConfirmHold(
        pb.ConfirmHoldRequest(tenant_id="acme", hold_id=held.hold.hold_id, call_id="call-uk")
    )
    assert abroad.appointment.status == pb.RESERVATION_STATUS_CONFIRMED
    assert await reminders_of(pool, off.appointment_id) == []
    assert await reminders_of(pool, abroad.appointment.appointment_id) == []
    on = await book(stack, tuesday(11), 2)  # the clinic's default service still reminds
    assert [offset for _, offset, _, _ in await reminders_of(pool, on.appointment_id)] == [1440, 120]
