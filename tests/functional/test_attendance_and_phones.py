"""The clinic's data over gRPC: attendance marked once an appointment has begun (recorded, streamed,
listed, idempotent), and patient phones masked for API keys not issued to see them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC

import asyncpg
import grpc
import pytest

from booking.availability.v1 import availability_pb2 as apb
from booking.notification.v1 import notification_pb2 as npb
from booking.notification.v1 import notification_pb2_grpc
from booking.reservation.v1 import reservation_pb2 as pb
from booking.reservation.v1 import reservation_pb2_grpc
from tests.conftest import Clock, Stack
from tests.functional.booking import CAUSE, book, load_clinic, phone, tuesday
from tests.functional.test_schedule import DESK, read_changes, week_range

NOTED = pb.StaffAction(actor="desk:anna", reason="did not come")


async def mark(stack: Stack, appointment_id: str, status: int, key: str = "") -> pb.MarkAttendanceResponse:
    reply: pb.MarkAttendanceResponse = await stack.reservation_stub.MarkAttendance(
        pb.MarkAttendanceRequest(
            tenant_id="acme", appointment_id=appointment_id, status=status, action=NOTED,  # type: ignore[arg-type]
            idempotency_key=key,
        )
    )  # fmt: skip
    return reply


async def test_attendance_waits_for_the_start_then_is_recorded_streamed_listed_and_idempotent(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    booked = await book(stack, tuesday(10), 1)
    early = await mark(stack, booked.appointment_id, pb.RESERVATION_STATUS_NO_SHOW)
    assert CAUSE(early.failure.cause) == "FAILURE_CAUSE_NOT_STARTED"
    assert early.appointment.status == pb.RESERVATION_STATUS_CONFIRMED

    clock.now = tuesday(10).astimezone(UTC)  # its start exactly: begun
    marked = await mark(stack, booked.appointment_id, pb.RESERVATION_STATUS_NO_SHOW, key="mark-1")
    assert not marked.HasField("failure") and marked.appointment.status == pb.RESERVATION_STATUS_NO_SHOW
    again = await mark(stack, booked.appointment_id, pb.RESERVATION_STATUS_NO_SHOW)  # another key, same outcome
    assert not again.HasField("failure") and again.appointment.status == pb.RESERVATION_STATUS_NO_SHOW
    replayed = await mark(stack, booked.appointment_id, pb.RESERVATION_STATUS_NO_SHOW, key="mark-1")
    assert replayed == marked
    other = await mark(stack, booked.appointment_id, pb.RESERVATION_STATUS_COMPLETED)
    assert CAUSE(other.failure.cause) == "FAILURE_CAUSE_ATTENDANCE_ALREADY_MARKED"
    assert other.failure.reason == "no_show" and other.appointment.status == pb.RESERVATION_STATUS_NO_SHOW

    history = await pool.fetch(
        "SELECT from_status, to_status, actor, reason FROM reservation.reservation_events "
        "WHERE reservation_id = $1::uuid ORDER BY seq",
        booked.appointment_id,
    )
    assert [tuple(r) for r in history][-1] == ("CONFIRMED", "NO_SHOW", "desk:anna", "did not come")
    assert len(history) == 3  # held, confirmed, no-show: marking twice wrote one change
    [_, _, change] = await read_changes(stack, "", 3)
    assert change.kind == pb.SCHEDULE_CHANGE_KIND_NO_SHOW and change.reservation_id == booked.appointment_id
    assert change.from_status == pb.RESERVATION_STATUS_CONFIRMED and change.action.reason == "did not come"
    listed = await stack.reservation_stub.ListAppointments(
        pb.ListAppointmentsRequest(tenant_id="acme", range=week_range(), statuses=[pb.RESERVATION_STATUS_NO_SHOW])
    )
    assert [a.appointment_id for a in listed.appointments] == [booked.appointment_id]


async def test_completed_is_streamed_and_a_cancelled_or_unknown_appointment_is_refused(
    stack: Stack, clock: Clock
) -> None:
    await load_clinic(stack, clock)
    done, cancelled = await book(stack, tuesday(9), 1), await book(stack, tuesday(11), 2)
    await stack.reservation_stub.StaffCancel(
        pb.StaffCancelRequest(tenant_id="acme", appointment_id=cancelled.appointment_id, action=DESK)
    )
    clock.now = tuesday(12).astimezone(UTC)
    completed = await mark(stack, done.appointment_id, pb.RESERVATION_STATUS_COMPLETED)
    assert completed.appointment.status == pb.RESERVATION_STATUS_COMPLETED
    changes = await read_changes(stack, "", 6)
    assert changes[-1].kind == pb.SCHEDULE_CHANGE_KIND_COMPLETED
    refused = await mark(stack, cancelled.appointment_id, pb.RESERVATION_STATUS_NO_SHOW)
    assert CAUSE(refused.failure.cause) == "FAILURE_CAUSE_BOOKING_ALREADY_CANCELLED"
    unknown = await mark(stack, "00000000-0000-0000-0000-000000000000", pb.RESERVATION_STATUS_NO_SHOW)
    assert CAUSE(unknown.failure.cause) == "FAILURE_CAUSE_NOT_FOUND" and not unknown.HasField("appointment")


@pytest.mark.parametrize(
    ("status", "action", "field"),
    [
        (pb.RESERVATION_STATUS_CANCELED, NOTED, "status"),
        (pb.RESERVATION_STATUS_UNSPECIFIED, NOTED, "status"),
        (pb.RESERVATION_STATUS_NO_SHOW, pb.StaffAction(reason="no actor"), "action.actor"),
    ],
)
async def test_mark_attendance_names_a_bad_field(
    stack: Stack, clock: Clock, status: int, action: pb.StaffAction, field: str
) -> None:
    await load_clinic(stack, clock)
    booked = await book(stack, tuesday(9), 1)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stack.reservation_stub.MarkAttendance(
            pb.MarkAttendanceRequest(
                tenant_id="acme", appointment_id=booked.appointment_id, status=status, action=action  # type: ignore[arg-type]
            )
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in (raised.value.details() or "")


# --- phones by credential --------------------------------------------------------------------
async def key_for(stack: Stack, *, patient_phones: bool) -> str:
    reply: apb.IssueApiKeyResponse = await stack.availability_stub.IssueApiKey(
        apb.IssueApiKeyRequest(tenant_id="acme", label="emr", patient_phones=patient_phones)
    )
    return reply.key


@pytest.fixture
async def as_key(stack: Stack) -> AsyncIterator[reservation_pb2_grpc.ReservationServiceStub]:
    """A reservation stub on a plain channel: each call brings its own credential."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.reservation.port}") as channel:
        yield reservation_pb2_grpc.ReservationServiceStub(channel)


def bearer(key: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {key}"),)


async def test_a_key_without_patient_phones_sees_them_masked_in_every_reply(
    stack: Stack, clock: Clock, as_key: reservation_pb2_grpc.ReservationServiceStub
) -> None:
    await load_clinic(stack, clock)
    booked = await book(stack, tuesday(9), 1)  # phone(1) = +12125550001
    metadata = bearer(await key_for(stack, patient_phones=False))
    masked = "+1******0001"
    listed = await as_key.ListAppointments(
        pb.ListAppointmentsRequest(tenant_id="acme", range=week_range()), metadata=metadata
    )
    assert [a.patient.phone for a in listed.appointments] == [masked]
    assert listed.appointments[0].patient.name == "Pat"
    got = await as_key.GetAppointment(
        pb.GetAppointmentRequest(tenant_id="acme", appointment_id=booked.appointment_id), metadata=metadata
    )
    assert got.appointment.patient.phone == masked
    found = await as_key.FindAppointments(
        pb.FindAppointmentsRequest(tenant_id="acme", phone=phone(1)), metadata=metadata
    )
    assert [a.patient.phone for a in found.appointments] == [masked]
    staff = pb.StaffBookRequest(
        tenant_id="acme", provider_id="p1", service_id="s30", start=listed.appointments[0].slot.end,
        patient=pb.Patient(name="Bo", phone=phone(2)), action=DESK, idempotency_key="desk-2",
    )  # fmt: skip
    by_key = await as_key.StaffBook(staff, metadata=metadata)
    assert by_key.appointment.patient.phone == "+1******0002"
    # The reply kept for the idempotency key is whole: the service token replaying it sees the number.
    replayed = await stack.reservation_stub.StaffBook(staff)
    assert replayed.appointment.patient.phone == phone(2)
    watched = as_key.WatchSchedule(pb.WatchScheduleRequest(tenant_id="acme"), metadata=metadata, timeout=10)
    async with asyncio.timeout(10):
        first = await anext(aiter(watched))
    watched.cancel()
    assert first.reservation_id == booked.appointment_id


async def test_the_service_token_and_a_key_issued_with_patient_phones_see_whole_numbers(
    stack: Stack, clock: Clock, as_key: reservation_pb2_grpc.ReservationServiceStub
) -> None:
    await load_clinic(stack, clock)
    await book(stack, tuesday(9), 1)
    request = pb.ListAppointmentsRequest(tenant_id="acme", range=week_range())
    own = await stack.reservation_stub.ListAppointments(request)
    assert [a.patient.phone for a in own.appointments] == [phone(1)]
    key = await key_for(stack, patient_phones=True)
    allowed = await as_key.ListAppointments(request, metadata=bearer(key))
    assert [a.patient.phone for a in allowed.appointments] == [phone(1)]
    keys = await stack.availability_stub.ListApiKeys(apb.ListApiKeysRequest(tenant_id="acme"))
    assert [k.patient_phones for k in keys.keys] == [True]
    checked = await stack.availability_stub.AuthenticateApiKey(apb.AuthenticateApiKeyRequest(key=key))
    assert checked.tenant_id == "acme" and checked.patient_phones


async def test_notification_masks_the_numbers_texted_for_a_key_without_patient_phones(
    stack: Stack, clock: Clock
) -> None:
    await load_clinic(stack, clock)
    await stack.notification_stub.EnqueueSms(
        npb.EnqueueSmsRequest(tenant_id="acme", to=phone(3), body="See you soon", dedupe_key="t-1")
    )
    masked, whole = await key_for(stack, patient_phones=False), await key_for(stack, patient_phones=True)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.notification.port}") as channel:
        stub = notification_pb2_grpc.NotificationServiceStub(channel)
        request = npb.ListMessagesRequest(tenant_id="acme")
        hidden = await stub.ListMessages(request, metadata=bearer(masked))
        shown = await stub.ListMessages(request, metadata=bearer(whole))
    assert [m.to for m in hidden.messages] == ["+1******0003"]
    assert [m.to for m in shown.messages] == [phone(3)]


async def test_a_revoked_scope_key_is_refused_like_any_revoked_key(
    stack: Stack, clock: Clock, as_key: reservation_pb2_grpc.ReservationServiceStub
) -> None:
    await load_clinic(stack, clock)
    issued = await stack.availability_stub.IssueApiKey(
        apb.IssueApiKeyRequest(tenant_id="acme", label="emr", patient_phones=True)
    )
    await stack.availability_stub.RevokeApiKey(apb.RevokeApiKeyRequest(tenant_id="acme", key_id=issued.key_id))
    checked = await stack.availability_stub.AuthenticateApiKey(apb.AuthenticateApiKeyRequest(key=issued.key))
    assert checked == apb.AuthenticateApiKeyResponse()
