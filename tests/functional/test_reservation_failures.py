"""Refusals travel as (cause, reason, limit) with an empty message: the gateway words them."""

from __future__ import annotations

import asyncpg
import grpc

from booking.common.v1 import common_pb2
from booking.notification.v1 import notification_pb2_grpc
from booking.reservation.v1 import reservation_pb2 as pb
from tests.conftest import Clock, Stack
from tests.functional.booking import CAUSE, book, hold, load_clinic, phone, ts, tuesday


def said(failure: common_pb2.Failure) -> tuple[str, str, int, str]:
    return CAUSE(failure.cause), failure.reason, failure.limit, failure.message


async def test_unknown_hold_and_appointment_are_not_found_with_their_reason(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    missing = "00000000-0000-0000-0000-000000000000"
    got = await stack.reservation_stub.GetHold(pb.GetHoldRequest(tenant_id="acme", hold_id=missing))
    assert said(got.failure) == ("FAILURE_CAUSE_NOT_FOUND", "hold_not_found", 0, "")
    confirmed = await stack.reservation_stub.ConfirmHold(pb.ConfirmHoldRequest(tenant_id="acme", hold_id=missing))
    assert said(confirmed.failure) == ("FAILURE_CAUSE_NOT_FOUND", "hold_not_found", 0, "")
    for reply in (
        await stack.reservation_stub.GetAppointment(pb.GetAppointmentRequest(tenant_id="acme", appointment_id=missing)),
        await stack.reservation_stub.CancelAppointment(
            pb.CancelAppointmentRequest(tenant_id="acme", appointment_id=missing)
        ),
    ):
        assert said(reply.failure) == ("FAILURE_CAUSE_NOT_FOUND", "appointment_not_found", 0, "")


async def test_confirm_refusals_say_whose_hold_and_the_limit(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    held = await hold(stack, tuesday(10), call="call-a", patient_phone=phone(7))
    other = await stack.reservation_stub.ConfirmHold(
        pb.ConfirmHoldRequest(tenant_id="acme", hold_id=held.hold.hold_id, call_id="call-b")
    )
    assert said(other.failure) == ("FAILURE_CAUSE_NOT_FOUND", "hold_of_another_call", 0, "")
    request = pb.ConfirmHoldRequest(tenant_id="acme", hold_id=held.hold.hold_id, call_id="call-a")
    assert (await stack.reservation_stub.ConfirmHold(request)).HasField("appointment")
    again = await stack.reservation_stub.ConfirmHold(request)
    assert said(again.failure) == ("FAILURE_CAUSE_SLOT_ALREADY_BOOKED_BY_USER", "already_confirmed", 0, "")
    for n, hour in enumerate((11, 12), start=1):  # the clinic's limit is 3 per phone
        held = await hold(stack, tuesday(hour), call=f"call-{n}", patient_phone=phone(7))
        await stack.reservation_stub.ConfirmHold(pb.ConfirmHoldRequest(tenant_id="acme", hold_id=held.hold.hold_id))
    fourth = await hold(stack, tuesday(14), call="call-4", patient_phone=phone(7))
    over = await stack.reservation_stub.ConfirmHold(
        pb.ConfirmHoldRequest(tenant_id="acme", hold_id=fourth.hold.hold_id)
    )
    assert said(over.failure) == ("FAILURE_CAUSE_USER_OVER_BOOKING_LIMIT", "", 3, "")


async def test_cancel_refusal_of_a_cancelled_appointment_is_typed(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    appointment = await book(stack, tuesday(15), 1)
    request = pb.CancelAppointmentRequest(tenant_id="acme", appointment_id=appointment.appointment_id)
    assert not (await stack.reservation_stub.CancelAppointment(request)).HasField("failure")
    again = await stack.reservation_stub.CancelAppointment(
        pb.CancelAppointmentRequest(tenant_id="acme", appointment_id=appointment.appointment_id, idempotency_key="k2")
    )
    assert said(again.failure) == ("FAILURE_CAUSE_BOOKING_ALREADY_CANCELLED", "", 0, "")
    moved = await stack.reservation_stub.RescheduleAppointment(
        pb.RescheduleAppointmentRequest(
            tenant_id="acme", appointment_id=appointment.appointment_id, start=ts(tuesday(16))
        )
    )
    assert said(moved.failure) == ("FAILURE_CAUSE_BOOKING_ALREADY_CANCELLED", "", 0, "")
    assert not moved.HasField("appointment")


async def test_verifying_without_a_code_sent_says_no_current_code(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    reply = await stack.reservation_stub.VerifyOtp(
        pb.VerifyOtpRequest(tenant_id="acme", phone=phone(9), call_id="call-9", code="123456")
    )
    assert said(reply.failure) == ("FAILURE_CAUSE_OTP_EXPIRED", "no_current_code", 0, "")


async def test_a_code_notification_cannot_take_is_send_failed_and_void(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    nowhere = grpc.aio.insecure_channel("127.0.0.1:1")  # nothing listens on port 1
    working = stack.reservation_deps.notification
    stack.reservation_deps.notification = notification_pb2_grpc.NotificationServiceStub(nowhere)
    try:
        reply = await stack.reservation_stub.SendOtp(
            pb.SendOtpRequest(tenant_id="acme", phone=phone(9), call_id="call-9")
        )
    finally:
        stack.reservation_deps.notification = working
        await nowhere.close()
    assert not reply.sent
    assert said(reply.failure) == ("FAILURE_CAUSE_SEND_FAILED", "", 0, "")
    assert await pool.fetchval("SELECT bool_and(superseded) FROM reservation.otp_codes") is True
