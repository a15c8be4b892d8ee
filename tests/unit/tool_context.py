"""A ToolContext for pure tests of the tools' parse and word steps: no backends, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp

from booking.availability.v1 import availability_pb2 as apb
from booking.common.v1 import common_pb2 as cpb
from booking.reservation.v1 import reservation_pb2 as rpb
from common.timestamps import to_timestamp
from gateway.clinics import ClinicInfo, Named
from gateway.state import Backends
from gateway.tools import ToolContext

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10 AM in New York
CALLER = "+12125550142"


def clinic(**rules: Any) -> ClinicInfo:
    return ClinicInfo(
        tenant_id="demo",
        name="Acme Dental",
        timezone=NY,
        default_region="US",
        rules=apb.BookingRules(**rules),
        services=(Named("cleaning", "Dental cleaning", "a dental cleaning"), Named("exam", "Exam", "an exam")),
        providers=(Named("lee", "Dr. Lee", "Doctor Lee"), Named("patel", "Dr. Patel", "Doctor Patel")),
        config=apb.ClinicConfig(),
    )


def context(caller: str = CALLER, call_id: str = "call-1", language: str = "en", **rules: Any) -> ToolContext:
    return ToolContext(
        tenant="demo", clinic=clinic(**rules), backends=cast(Backends, None), call_id=call_id,
        caller_number=caller, tool_call_id="tc-1", now=NOW, language=language,
    )  # fmt: skip


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=NY)


def stamp(value: datetime) -> Timestamp:
    return to_timestamp(value.astimezone(UTC))


def slot(day: int, hour: int, minute: int = 0, provider: str = "Doctor Lee") -> cpb.Slot:
    return cpb.Slot(
        slot_id=f"s-{day}-{hour}-{minute}", provider_id="lee", service_id="cleaning",
        start=stamp(local(day, hour, minute)), provider_spoken_name=provider, service_spoken_name="a dental cleaning",
    )  # fmt: skip


def appointment(day: int = 24, hour: int = 9, phone: str = CALLER, status: str = "CONFIRMED") -> rpb.Appointment:
    return rpb.Appointment(
        appointment_id="ap-1", slot=slot(day, hour), patient=rpb.Patient(name="Ada", phone=phone),
        status=rpb.ReservationStatus.Value(f"RESERVATION_STATUS_{status}"),
    )  # fmt: skip


def failure(cause: str, reason: str = "", limit: int = 0) -> cpb.Failure:
    return cpb.Failure(cause=cpb.FailureCause.Value(f"FAILURE_CAUSE_{cause}"), reason=reason, limit=limit)


def in_minutes(minutes: float) -> Timestamp:
    return to_timestamp(NOW + timedelta(minutes=minutes))
