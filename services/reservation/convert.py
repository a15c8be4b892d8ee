"""Between rows and messages: reservation rows to protobuf, a validated slot to a new reservation,
a refusal to `common.v1.Failure`, an appointment to the text request it causes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from booking.availability.v1 import availability_pb2
from booking.common.v1 import common_pb2 as C
from booking.notification.v1 import notification_pb2
from booking.reservation.v1 import reservation_pb2 as pb
from common.timestamps import from_timestamp
from common.timestamps import to_timestamp as timestamp
from services.reservation.policy import Refusal
from services.reservation.repository import NewReservation, Reservation

STATUS = {
    "HELD": pb.RESERVATION_STATUS_HELD,
    "EXPIRED": pb.RESERVATION_STATUS_EXPIRED,
    "RELEASED": pb.RESERVATION_STATUS_RELEASED,
    "CONFIRMED": pb.RESERVATION_STATUS_CONFIRMED,
    "CANCELED": pb.RESERVATION_STATUS_CANCELED,
    "NO_SHOW": pb.RESERVATION_STATUS_NO_SHOW,
    "COMPLETED": pb.RESERVATION_STATUS_COMPLETED,
    "BLOCKED": pb.RESERVATION_STATUS_BLOCKED,
}


def failure(refusal: Refusal) -> C.Failure:
    """The wire form of a refusal; `message` stays empty (the gateway words causes)."""
    return C.Failure(
        cause=C.FailureCause.Value(f"FAILURE_CAUSE_{refusal.cause}"), reason=refusal.reason, limit=refusal.limit
    )


def slot_of(row: Reservation) -> C.Slot:
    zone = ZoneInfo(row.timezone)
    return C.Slot(
        slot_id=str(row.details.get("slot_id", "")),
        provider_id=row.provider_id,
        service_id=row.service_id,
        start=timestamp(row.starts_at),
        end=timestamp(row.ends_at),
        timezone=row.timezone,
        local_start=row.starts_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        provider_spoken_name=str(row.details.get("provider_spoken_name", "")),
        service_spoken_name=str(row.details.get("service_spoken_name", "")),
    )


def hold_of(row: Reservation, now: datetime) -> pb.Hold:
    status = row.status
    if status == "HELD" and not row.live_hold(now):
        status = "EXPIRED"  # run out, even if the sweeper has not marked it yet
    hold = pb.Hold(
        hold_id=row.reservation_id,
        tenant_id=row.tenant_id,
        slot=slot_of(row),
        patient=pb.Patient(name=row.patient_name, phone=row.patient_phone),
        call_id=row.call_id,
        status=STATUS[status],
    )
    if row.hold_expires_at is not None:
        hold.expires_at.CopyFrom(timestamp(row.hold_expires_at))
    return hold


def appointment_of(row: Reservation) -> pb.Appointment:
    appointment = pb.Appointment(
        appointment_id=row.reservation_id,
        tenant_id=row.tenant_id,
        slot=slot_of(row),
        patient=pb.Patient(name=row.patient_name, phone=row.patient_phone),
        status=STATUS[row.status],
        cancel_reason=row.cancel_reason,
        language=row.language,
    )
    if row.confirmed_at is not None:
        appointment.confirmed_at.CopyFrom(timestamp(row.confirmed_at))
    if row.canceled_at is not None:
        appointment.canceled_at.CopyFrom(timestamp(row.canceled_at))
    if row.attendance_confirmed_at is not None:
        appointment.attendance_confirmed_at.CopyFrom(timestamp(row.attendance_confirmed_at))
    return appointment


def new_reservation(validation: availability_pb2.ValidateSlotResponse, *, with_service_name: bool) -> NewReservation:
    """The time availability validated, as a row to insert (a hold) or to move an appointment to.

    A move merges these details into the booked ones, so it leaves the booked service's spoken name.
    """
    slot = validation.slot
    details = {"slot_id": slot.slot_id, "provider_spoken_name": slot.provider_spoken_name}
    if with_service_name:
        details["service_spoken_name"] = slot.service_spoken_name
    return NewReservation(
        provider_id=slot.provider_id,
        service_id=slot.service_id,
        starts_at=from_timestamp(slot.start),
        ends_at=from_timestamp(slot.end),
        occupied_start=from_timestamp(validation.occupied.start),
        occupied_end=from_timestamp(validation.occupied.end),
        timezone=slot.timezone,
        details=details,
    )


def dedupe_key(kind: notification_pb2.MessageKind.ValueType, row: Reservation) -> str:
    """One text per event: a confirmation or cancellation once per appointment, a move once per
    version (every change bumps it, so moving back to an earlier time is still a new text)."""
    if kind == notification_pb2.MESSAGE_KIND_CONFIRMATION:
        return f"confirmation:{row.reservation_id}"
    if kind == notification_pb2.MESSAGE_KIND_CANCELLATION:
        return f"cancellation:{row.reservation_id}"
    return f"reschedule:{row.reservation_id}:v{row.version}"


def resend_key(row: Reservation, asked_by: str) -> str:
    """A confirmation texted again: once per appointment version and asking call."""
    return f"confirmation-resend:{row.reservation_id}:v{row.version}:{asked_by}"


def sms_request(
    row: Reservation, kind: notification_pb2.MessageKind.ValueType, clinic_name: str, key: str = "", language: str = ""
) -> notification_pb2.EnqueueSmsRequest:
    """The text a change causes, in `language` (the asking caller's), else the appointment's."""
    return notification_pb2.EnqueueSmsRequest(
        language=language or row.language,
        tenant_id=row.tenant_id,
        to=row.patient_phone,
        kind=kind,
        dedupe_key=key or dedupe_key(kind, row),
        appointment=notification_pb2.AppointmentDetails(
            clinic_name=clinic_name,
            service_name=str(row.details.get("service_name") or row.details.get("service_spoken_name", "")),
            provider_name=str(row.details.get("provider_spoken_name", "")),
            start=timestamp(row.starts_at),
            timezone=row.timezone,
            appointment_id=row.reservation_id,
        ),
    )
