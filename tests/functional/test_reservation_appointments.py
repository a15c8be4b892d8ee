"""Appointments: confirm, cancel, reschedule (atomic under concurrency), limits, and the
confirmation SMS that survives the notification service being down."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta

import asyncpg

from booking.availability.v1 import availability_pb2 as apb
from booking.notification.v1 import notification_pb2 as npb
from booking.reservation.v1 import reservation_pb2 as pb
from devkit.twilio_fake import fake_twilio
from services.notification.senders import TwilioSender
from services.notification.server import create_server as create_notification
from tests.conftest import Clock, Stack
from tests.functional.booking import CAUSE, book, hold, load_clinic, phone, ts, tuesday


async def test_confirm_turns_the_hold_into_an_appointment_with_history(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    appointment = await book(stack, tuesday(10), 1)
    assert appointment.status == pb.RESERVATION_STATUS_CONFIRMED
    assert appointment.slot.local_start == "2030-01-08T10:00" and appointment.slot.provider_spoken_name == "Doctor One"
    found = await stack.reservation_stub.FindAppointments(
        pb.FindAppointmentsRequest(tenant_id="acme", phone=phone(1), upcoming_only=True)
    )
    assert [a.appointment_id for a in found.appointments] == [appointment.appointment_id]
    history = await pool.fetch("SELECT from_status, to_status FROM reservation.reservation_events ORDER BY event_id")
    assert [(r["from_status"], r["to_status"]) for r in history] == [(None, "HELD"), ("HELD", "CONFIRMED")]
    outbox = await pool.fetch("SELECT dedupe_key FROM reservation.outbox")
    assert [r["dedupe_key"] for r in outbox] == [f"confirmation:{appointment.appointment_id}"]


async def test_confirming_twice_with_another_key_never_returns_the_booking(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    appointment = await book(stack, tuesday(10), 1)
    again = await stack.reservation_stub.ConfirmHold(
        pb.ConfirmHoldRequest(tenant_id="acme", hold_id=appointment.appointment_id, call_id="call-1")
    )
    assert (
        not again.HasField("appointment") and CAUSE(again.failure.cause) == "FAILURE_CAUSE_SLOT_ALREADY_BOOKED_BY_USER"
    )


async def test_cancel_respects_the_cutoff_is_idempotent_and_frees_the_time(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    soon = await book(stack, tuesday(9), 1)  # 27 h away: outside the 24 h cut-off? no: inside after we move the clock
    later = await book(stack, tuesday(15), 2)
    clock.now = (tuesday(9) - timedelta(hours=23)).astimezone(UTC)
    refused = await stack.reservation_stub.CancelAppointment(
        pb.CancelAppointmentRequest(tenant_id="acme", appointment_id=soon.appointment_id)
    )
    assert CAUSE(refused.failure.cause) == "FAILURE_CAUSE_OUTSIDE_CANCELLATION_WINDOW"
    assert refused.appointment.status == pb.RESERVATION_STATUS_CONFIRMED

    cancel = pb.CancelAppointmentRequest(
        tenant_id="acme", appointment_id=later.appointment_id, reason="feeling better", idempotency_key="k1"
    )
    first = await stack.reservation_stub.CancelAppointment(cancel)
    assert first.appointment.status == pb.RESERVATION_STATUS_CANCELED and not first.HasField("failure")
    assert (await stack.reservation_stub.CancelAppointment(cancel)).SerializeToString() == first.SerializeToString()
    cancel.idempotency_key = "k2"
    twice = await stack.reservation_stub.CancelAppointment(cancel)
    assert CAUSE(twice.failure.cause) == "FAILURE_CAUSE_BOOKING_ALREADY_CANCELLED"

    found = await stack.availability_stub.FindSlots(
        apb.FindSlotsRequest(tenant_id="acme", date="2030-01-08", service_id="s30", provider_id="p1", limit=100)
    )
    starts = [s.local_start for s in found.slots]
    assert "2030-01-08T15:00" in starts and "2030-01-08T09:00" not in starts
    assert await pool.fetchval("SELECT count(*) FROM reservation.reservations") == 2  # nothing deleted


async def test_twenty_concurrent_reschedules_into_one_slot_exactly_one_moves(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    appointments = []
    for n in range(20):
        provider = "p1" if n < 10 else "p2"
        appointments.append(
            await book(stack, tuesday(9 + (n % 10) // 2, 30 * (n % 2)) + timedelta(days=1), n, provider=provider)
        )
    before = {
        r["reservation_id"]: r["starts_at"]
        for r in await pool.fetch("SELECT reservation_id::text, starts_at FROM reservation.reservations")
    }
    target = tuesday(16)
    replies = await asyncio.gather(
        *(
            stack.reservation_stub.RescheduleAppointment(
                pb.RescheduleAppointmentRequest(
                    tenant_id="acme", appointment_id=a.appointment_id, provider_id="p1", start=ts(target)
                )
            )
            for a in appointments
        )
    )
    moved = [r for r in replies if not r.HasField("failure")]
    assert len(moved) == 1
    assert {CAUSE(r.failure.cause) for r in replies if r.HasField("failure")} == {"FAILURE_CAUSE_SLOT_UNAVAILABLE"}
    after = {
        r["reservation_id"]: r["starts_at"]
        for r in await pool.fetch("SELECT reservation_id::text, starts_at FROM reservation.reservations")
    }
    changed = [k for k in before if before[k] != after[k]]
    assert changed == [moved[0].appointment.appointment_id]
    assert after[changed[0]] == target.astimezone(UTC)
    # The old time of the one that moved is free again; nobody else's time is.
    assert await pool.fetchval("SELECT count(*) FROM reservation.reservations WHERE status = 'CONFIRMED'") == 20


async def test_booking_limit_per_phone(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    for hour in (9, 10, 11):
        held = await hold(stack, tuesday(hour), call=f"c{hour}", patient_phone=phone(7))
        assert (
            await stack.reservation_stub.ConfirmHold(pb.ConfirmHoldRequest(tenant_id="acme", hold_id=held.hold.hold_id))
        ).HasField("appointment")
    fourth = await hold(stack, tuesday(14), call="c14", patient_phone=phone(7))
    refused = await stack.reservation_stub.ConfirmHold(
        pb.ConfirmHoldRequest(tenant_id="acme", hold_id=fourth.hold.hold_id)
    )
    assert CAUSE(refused.failure.cause) == "FAILURE_CAUSE_USER_OVER_BOOKING_LIMIT"


async def test_confirmation_sms_survives_notification_being_down(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    port = stack.notification.port
    await stack.notification.stop(0)
    appointment = await book(stack, tuesday(10), 1)  # booking does not wait for notification
    await asyncio.sleep(0.3)
    assert await pool.fetchval("SELECT count(*) FROM notification.messages") == 0
    assert await pool.fetchval("SELECT attempts FROM reservation.outbox") >= 1

    async with fake_twilio() as twilio:
        sender = TwilioSender("AC" + "1" * 32, "token", from_number="+12125550100", base_url=twilio.url)
        restarted = await create_notification("127.0.0.1", port, pool, sender=sender)  # with its SMS relay
        try:
            async with asyncio.timeout(15):
                while not twilio.requests:
                    stack.reservation.relay.wake()
                    await asyncio.sleep(0.1)
            # A relay that crashed after delivering but before marking it: delivered again, still one SMS.
            await pool.execute(
                "UPDATE reservation.outbox SET delivered_at = NULL, available_at = now() - interval '1 s'"
            )
            await stack.reservation.relay.run_once()
            await asyncio.sleep(1.0)  # give the SMS relay the chance to (wrongly) send again
            messages = await pool.fetch("SELECT dedupe_key, body, to_phone, status FROM notification.messages")
            assert len(messages) == 1
            assert messages[0]["dedupe_key"] == f"confirmation:{appointment.appointment_id}"
            assert messages[0]["status"] == "SENT"
            assert [r["To"] for r in twilio.requests] == [phone(1)]
            assert (
                "Acme Dental: your short visit with Doctor One is confirmed for Tue Jan 8 at 10:00 AM"
                in (twilio.requests[0]["Body"])
            )
            listed = await stack.notification_stub.ListMessages(npb.ListMessagesRequest(tenant_id="acme", to=phone(1)))
            assert len(listed.messages) == 1
        finally:
            await restarted.stop(0)
