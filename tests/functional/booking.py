"""Helpers for reservation tests: a small clinic loaded over gRPC and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp

from booking.availability.v1 import availability_pb2 as apb
from booking.common.v1 import common_pb2
from booking.reservation.v1 import reservation_pb2 as pb
from services.availability.clinic_file import parse_clinic
from tests.conftest import Clock, Stack

NY = ZoneInfo("America/New_York")
NOW = datetime(2030, 1, 7, 6, 0, tzinfo=NY)  # Monday morning, before opening
TUESDAY = datetime(2030, 1, 8, tzinfo=NY)
HOURS = ["09:00-17:00"]
WEEKDAYS = {d: HOURS for d in ("mon", "tue", "wed", "thu", "fri")}

CLINIC = {
    "tenant_id": "acme",
    "name": "Acme Dental",
    "timezone": "America/New_York",
    "secret": "acme-secret-0123456789",
    "rules": {
        "slot_interval_minutes": 15,
        "min_notice_minutes": 0,
        "max_days_ahead": 60,
        "hold_minutes": 10,
        "cancellation_cutoff_minutes": 1440,
        "otp_required": False,
        "max_active_appointments_per_phone": 3,
    },
    "services": [
        {"id": "s30", "name": "Short", "spoken_name": "a short visit", "duration_minutes": 30},
        {"id": "s60", "name": "Long", "spoken_name": "a long visit", "duration_minutes": 60},
        {"id": "verified", "name": "Verified", "duration_minutes": 30, "rules": {"otp_required": True}},
    ],
    "providers": [
        {"id": "p1", "name": "Dr. One", "spoken_name": "Doctor One", "hours": WEEKDAYS},
        {"id": "p2", "name": "Dr. Two", "spoken_name": "Doctor Two", "hours": WEEKDAYS},
    ],
}  # fmt: skip


async def load_clinic(stack: Stack, clock: Clock) -> None:
    clock.now = NOW.astimezone(UTC)
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=parse_clinic(CLINIC, {})))


def ts(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def tuesday(hour: int, minute: int = 0) -> datetime:
    return TUESDAY.replace(hour=hour, minute=minute)


def phone(n: int) -> str:
    return f"+1212555{n:04d}"


async def hold(
    stack: Stack, start: datetime, *, service: str = "s30", provider: str = "p1", call: str = "call-1",
    patient_phone: str = "", key: str = "",
) -> pb.CreateHoldResponse:  # fmt: skip
    reply: pb.CreateHoldResponse = await stack.reservation_stub.CreateHold(
        pb.CreateHoldRequest(
            tenant_id="acme", provider_id=provider, service_id=service, start=ts(start), call_id=call,
            patient=pb.Patient(name="Pat", phone=patient_phone), idempotency_key=key,
        )
    )  # fmt: skip
    return reply


async def book(stack: Stack, start: datetime, n: int, **kwargs: str) -> pb.Appointment:
    held = await hold(stack, start, call=f"call-{n}", patient_phone=phone(n), **kwargs)
    assert held.HasField("hold"), held.failure
    confirmed = await stack.reservation_stub.ConfirmHold(
        pb.ConfirmHoldRequest(tenant_id="acme", hold_id=held.hold.hold_id, call_id=f"call-{n}")
    )
    assert confirmed.HasField("appointment"), confirmed.failure
    appointment: pb.Appointment = confirmed.appointment
    return appointment


CAUSE = common_pb2.FailureCause.Name
