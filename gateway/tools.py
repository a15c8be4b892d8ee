"""The assistant's tools: each turns arguments into gRPC calls and the reply into a result
the assistant can say. The tenant always comes from the URL and credential, never from
arguments the model produced."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from booking.availability.v1 import availability_pb2 as apb
from booking.common.v1 import common_pb2 as cpb
from booking.notification.v1 import notification_pb2 as npb
from booking.reservation.v1 import reservation_pb2 as rpb
from common.phones import to_e164
from common.timestamps import from_timestamp, to_timestamp
from gateway import speech
from gateway.clinics import ClinicInfo
from gateway.state import Backends
from gateway.vapi import compact

CALL_TIMEOUT_SECONDS = 2.5  # every reply well inside Vapi's tool timeout, even after two hops
PARTS = {"morning": apb.PART_OF_DAY_MORNING, "afternoon": apb.PART_OF_DAY_AFTERNOON, "evening": apb.PART_OF_DAY_EVENING}
UNAVAILABLE_SPEECH = "I'm having trouble reaching the schedule right now. Give me a moment and we can try again."


@dataclass(frozen=True)
class ToolContext:
    tenant: str
    clinic: ClinicInfo
    backends: Backends
    call_id: str
    caller_number: str  # E.164 from the call, "" when unknown
    tool_call_id: str
    now: datetime

    @property
    def idempotency_key(self) -> str:
        return f"{self.tenant}:{self.tool_call_id}" if self.tool_call_id else ""

    @property
    def today(self) -> Any:
        return self.now.astimezone(self.clinic.timezone).date()


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    speech: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return compact({"ok": self.ok, "speech": self.speech, **self.data})


class UnknownTool(LookupError):
    """Answered with `error`, not `result`."""


def refuse(sentence: str, cause: str, **data: Any) -> ToolResult:
    return ToolResult(False, sentence, {"cause": cause, **data})


def unavailable() -> ToolResult:
    return refuse(UNAVAILABLE_SPEECH, "BACKEND_UNAVAILABLE")


def cause_name(failure: cpb.Failure) -> str:
    return cpb.FailureCause.Name(failure.cause).removeprefix("FAILURE_CAUSE_")


def text_arg(args: dict[str, Any], *names: str, limit: int = 200) -> str:
    for name in names:
        value = args.get(name)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            text = str(value).strip()
            if text:
                return text[:limit]
    return ""


def normalize_phone(text: str, region: str) -> str | None:
    return to_e164(text, region)


ts = to_timestamp


def local(ctx: ToolContext, stamp: Timestamp) -> datetime:
    return from_timestamp(stamp).astimezone(ctx.clinic.timezone)


def slot_data(ctx: ToolContext, slot: cpb.Slot) -> dict[str, str]:
    when = local(ctx, slot.start)
    return {
        "slot_id": slot.slot_id,
        "start": when.isoformat(),
        "when": speech.moment_phrase(when, ctx.today),
        "provider": slot.provider_spoken_name,
        "provider_id": slot.provider_id,
        "service_id": slot.service_id,
    }


def spoken(ctx: ToolContext, slots: list[cpb.Slot]) -> list[speech.SpokenSlot]:
    return [speech.SpokenSlot(local(ctx, s.start), s.provider_spoken_name) for s in slots]


def appointment_data(ctx: ToolContext, appointment: rpb.Appointment) -> dict[str, str]:
    when = local(ctx, appointment.slot.start)
    return {
        "appointment_id": appointment.appointment_id,
        "status": rpb.ReservationStatus.Name(appointment.status).removeprefix("RESERVATION_STATUS_"),
        "start": when.isoformat(),
        "when": speech.moment_phrase(when, ctx.today),
        "provider": appointment.slot.provider_spoken_name,
        "service": appointment.slot.service_spoken_name,
    }


def appointment_sentence(ctx: ToolContext, appointment: rpb.Appointment) -> str:
    when = speech.moment_phrase(local(ctx, appointment.slot.start), ctx.today)
    what = appointment.slot.service_spoken_name or "your appointment"
    who = f" with {appointment.slot.provider_spoken_name}" if appointment.slot.provider_spoken_name else ""
    return f"{what}{who} {when}"


# --- check_availability -----------------------------------------------------------------------
async def check_availability(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    request = apb.FindSlotsRequest(tenant_id=ctx.tenant, limit=10)  # compact results: the model reads them
    date_text = text_arg(args, "date", "day", "when")
    from_text, to_text = text_arg(args, "from", "from_date", "start_date"), text_arg(args, "to", "to_date", "end_date")
    if from_text:
        request.from_date, request.to_date = from_text, to_text
    elif date_text:
        request.date = date_text
    service_text = text_arg(args, "service", "service_id", "appointment_type")
    if service_text:
        service = ctx.clinic.find_service(service_text)
        if service is None:
            names = speech.join_or([s.spoken_name for s in ctx.clinic.services])
            return refuse(f"I'm not sure which appointment you mean. We offer {names}.", "UNKNOWN_SERVICE")
        request.service_id = service.id
    provider_text = text_arg(args, "provider", "provider_id", "doctor")
    if provider_text:
        provider = ctx.clinic.find_provider(provider_text)
        if provider is None:
            names = speech.join_or([p.spoken_name for p in ctx.clinic.providers])
            return refuse(f"I don't know that provider. Our providers are {names}.", "UNKNOWN_PROVIDER")
        request.provider_id = provider.id
    part = text_arg(args, "part_of_day").lower()
    if part in PARTS:
        request.part_of_day = PARTS[part]
    limit = args.get("limit")
    if isinstance(limit, int) and not isinstance(limit, bool) and 0 < limit <= 50:
        request.limit = limit
    reply = await ctx.backends.availability.FindSlots(request, timeout=CALL_TIMEOUT_SECONDS)
    slots, alternatives = list(reply.slots), list(reply.alternatives)
    data: dict[str, Any] = {
        "slots": [slot_data(ctx, s) for s in slots],
        "timezone": reply.timezone,
        "from": reply.from_date,
        "to": reply.to_date,
    }
    if reply.HasField("failure"):
        data["cause"] = cause_name(reply.failure)
    if alternatives:
        data["alternatives"] = [slot_data(ctx, s) for s in alternatives]
    first_day = datetime.fromisoformat(reply.from_date).date() if reply.from_date else ctx.today
    asked = speech.day_phrase(first_day, ctx.today)
    if slots:
        return ToolResult(True, speech.options_sentence(spoken(ctx, slots), ctx.today), data)
    if reply.HasField("failure"):
        lead = reply.failure.message or "I can't book that date."
    elif reply.from_date != reply.to_date:
        lead = "There's nothing free in those days."
    else:
        lead = (
            f"There's nothing free {asked}." if asked in ("today", "tomorrow") else f"There's nothing free on {asked}."
        )
    if alternatives:
        return ToolResult(
            True, f"{lead} The next openings: {speech.options_sentence(spoken(ctx, alternatives), ctx.today)}", data
        )
    return ToolResult(True, f"{lead} I couldn't find an opening in the next two weeks either.", data)


# --- resolving a time to a slot ------------------------------------------------------------------
def parse_start(text: str, ctx: ToolContext) -> datetime | None:
    """An ISO datetime; without an offset it is the clinic's local time."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ctx.clinic.timezone)
    return value


async def slot_for_start(ctx: ToolContext, start: datetime, service_id: str, provider_id: str) -> cpb.Slot | None:
    """The offered slot at exactly this time (any provider unless one is named)."""
    local_day = start.astimezone(ctx.clinic.timezone).date().isoformat()
    reply = await ctx.backends.availability.FindSlots(
        apb.FindSlotsRequest(
            tenant_id=ctx.tenant, date=local_day, service_id=service_id, provider_id=provider_id, limit=200
        ),
        timeout=CALL_TIMEOUT_SECONDS,
    )
    wanted = start.astimezone(UTC)
    found: list[cpb.Slot] = [s for s in reply.slots if from_timestamp(s.start) == wanted]
    return found[0] if found else None


async def wanted_slot(ctx: ToolContext, args: dict[str, Any]) -> tuple[str, ToolResult | None]:
    """The slot id the caller picked, from `slot_id` or from `start` (+ provider, service)."""
    slot_id = text_arg(args, "slot_id", "slotId", limit=400)
    if slot_id:
        return slot_id, None
    start_text = text_arg(args, "start", "time", "datetime", "start_time")
    if not start_text:
        return "", refuse(
            "Which time would you like? Please pick one of the times I offered.", "MISSING_ARGUMENT", field="slot_id"
        )
    start = parse_start(start_text, ctx)
    if start is None:
        return "", refuse(
            "I didn't catch that time. Which of the offered times would you like?", "INVALID_ARGUMENT", field="start"
        )
    service = ctx.clinic.find_service(text_arg(args, "service", "service_id"))
    provider = ctx.clinic.find_provider(text_arg(args, "provider", "provider_id"))
    slot = await slot_for_start(ctx, start, service.id if service else "", provider.id if provider else "")
    if slot is None:
        return "", refuse(
            "That time isn't available. Would you like me to check what's open that day?", "SLOT_UNAVAILABLE"
        )
    return slot.slot_id, None


def caller_phone(ctx: ToolContext, args: dict[str, Any], *names: str) -> tuple[str, ToolResult | None]:
    """The caller id from the call wins; a spoken number is used when there is none (or the clinic allows it)."""
    spoken_text = text_arg(args, *names, limit=40)
    spoken_phone = normalize_phone(spoken_text, ctx.clinic.default_region) if spoken_text else None
    if spoken_text and spoken_phone is None:
        return "", refuse(
            "That phone number doesn't sound right. Could you say it again with the area code?", "INVALID_PHONE"
        )
    if ctx.caller_number and not (spoken_phone and ctx.clinic.rules.allow_spoken_phone_for_otp):
        return ctx.caller_number, None
    if spoken_phone:
        return spoken_phone, None
    return "", refuse("What's the best phone number to text you at?", "MISSING_ARGUMENT", field="phone")


# --- reserve_slot -------------------------------------------------------------------------------
async def reserve_slot(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    slot_id, problem = await wanted_slot(ctx, args)
    if problem:
        return problem
    name = text_arg(args, "patient_name", "name", "caller_name")
    phone_text = text_arg(args, "patient_phone", "phone", limit=40)
    phone = normalize_phone(phone_text, ctx.clinic.default_region) if phone_text else ""
    if phone_text and not phone:
        return refuse(
            "That phone number doesn't sound right. Could you say it again with the area code?", "INVALID_PHONE"
        )
    phone = ctx.caller_number or phone or ""
    reply = await ctx.backends.reservation.CreateHold(
        rpb.CreateHoldRequest(
            tenant_id=ctx.tenant, slot_id=slot_id, call_id=ctx.call_id, idempotency_key=ctx.idempotency_key,
            patient=rpb.Patient(name=name, phone=phone),
        ),
        timeout=CALL_TIMEOUT_SECONDS * 2,
    )  # fmt: skip
    if reply.HasField("hold"):
        hold = reply.hold
        when = speech.moment_phrase(local(ctx, hold.slot.start), ctx.today)
        minutes = round((from_timestamp(hold.expires_at) - ctx.now.astimezone(UTC)).total_seconds() / 60)
        provider = f" with {hold.slot.provider_spoken_name}" if hold.slot.provider_spoken_name else ""
        return ToolResult(
            True,
            f"I'm holding {when}{provider} for you for the next {max(minutes, 1)} minutes.",
            {
                "hold_id": hold.hold_id,
                "expires_at": from_timestamp(hold.expires_at).isoformat() + "Z",
                **slot_data(ctx, hold.slot),
            },
        )
    cause = cause_name(reply.failure)
    alternatives = list(reply.alternatives)
    sentence = reply.failure.message or "I couldn't hold that time."
    if alternatives:
        sentence += f" {speech.options_sentence(spoken(ctx, alternatives), ctx.today)}"
    return refuse(sentence, cause, alternatives=[slot_data(ctx, s) for s in alternatives])


# --- codes ------------------------------------------------------------------------------------
async def send_otp(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    phone, problem = caller_phone(ctx, args, "phone", "phone_number", "patient_phone")
    if problem:
        return problem
    reply = await ctx.backends.reservation.SendOtp(
        rpb.SendOtpRequest(tenant_id=ctx.tenant, phone=phone, call_id=ctx.call_id, idempotency_key=ctx.idempotency_key),
        timeout=CALL_TIMEOUT_SECONDS * 2,
    )
    if reply.sent:
        return ToolResult(
            True,
            f"I've texted a 6-digit code to {speech.phone_tail(phone)}. Please read it to me when it arrives.",
            {"sent": True},
        )
    return refuse(reply.failure.message or "I couldn't send the code.", cause_name(reply.failure))


async def verify_otp(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    code = re.sub(r"\D", "", text_arg(args, "code", "otp", limit=40))
    if not code:
        return refuse("What's the code in the text message?", "MISSING_ARGUMENT", field="code")
    if not ctx.call_id and not ctx.caller_number:
        return refuse("I can't check the code on this call. Let me send you a new one.", "OTP_INVALID")
    reply = await ctx.backends.reservation.VerifyOtp(
        rpb.VerifyOtpRequest(
            tenant_id=ctx.tenant, call_id=ctx.call_id, phone="" if ctx.call_id else ctx.caller_number, code=code
        ),
        timeout=CALL_TIMEOUT_SECONDS,
    )
    if reply.verified:
        return ToolResult(True, "Thank you, that code is correct.", {"verified": True})
    return refuse(
        reply.failure.message or "That code doesn't match.",
        cause_name(reply.failure),
        attempts_left=reply.attempts_left,
    )


# --- appointments -----------------------------------------------------------------------------
async def confirm_booking(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    hold_id = text_arg(args, "hold_id", "holdId", limit=100)
    if not hold_id and not ctx.call_id:
        return refuse("Which time should I book? Let me hold one for you first.", "MISSING_ARGUMENT", field="hold_id")
    reply = await ctx.backends.reservation.ConfirmHold(
        rpb.ConfirmHoldRequest(
            tenant_id=ctx.tenant, hold_id=hold_id, call_id=ctx.call_id, idempotency_key=ctx.idempotency_key
        ),
        timeout=CALL_TIMEOUT_SECONDS * 2,
    )
    if reply.HasField("appointment"):
        appointment = reply.appointment
        texted = " I've sent you a confirmation text." if appointment.patient.phone else ""
        return ToolResult(
            True,
            f"You're booked: {appointment_sentence(ctx, appointment)}.{texted}",
            appointment_data(ctx, appointment),
        )
    cause = cause_name(reply.failure)
    if cause == "OTP_REQUIRED":
        return refuse("Before I book, I need to verify your phone number with a code by text.", cause)
    return refuse(reply.failure.message or "I couldn't book that.", cause)


async def _owned_appointment(ctx: ToolContext, appointment_id: str) -> tuple[rpb.Appointment | None, ToolResult | None]:
    reply = await ctx.backends.reservation.GetAppointment(
        rpb.GetAppointmentRequest(tenant_id=ctx.tenant, appointment_id=appointment_id), timeout=CALL_TIMEOUT_SECONDS
    )
    if not reply.HasField("appointment"):
        return None, refuse("I couldn't find that appointment. Shall I look up your appointments?", "NOT_FOUND")
    if ctx.caller_number and reply.appointment.patient.phone and reply.appointment.patient.phone != ctx.caller_number:
        return None, refuse(
            "I can only change appointments booked with the phone number you're calling from.", "NOT_FOUND"
        )
    return reply.appointment, None


async def send_confirmation(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    appointment_id = text_arg(args, "appointment_id", "appointmentId", "booking_id", limit=100)
    if not appointment_id:
        return refuse("Which appointment should I text you about?", "MISSING_ARGUMENT", field="appointment_id")
    appointment, problem = await _owned_appointment(ctx, appointment_id)
    if problem or appointment is None:
        return problem or refuse("I couldn't find that appointment.", "NOT_FOUND")
    if not appointment.patient.phone:
        return refuse("There's no phone number on that appointment to text.", "INVALID_PHONE")
    reply = await ctx.backends.notification.EnqueueSms(
        npb.EnqueueSmsRequest(
            tenant_id=ctx.tenant, to=appointment.patient.phone, kind=npb.MESSAGE_KIND_CONFIRMATION,
            dedupe_key=f"confirmation-resend:{appointment.appointment_id}:{ctx.tool_call_id or ctx.now.isoformat()}",
            appointment=npb.AppointmentDetails(
                clinic_name=ctx.clinic.name, service_name=appointment.slot.service_spoken_name,
                provider_name=appointment.slot.provider_spoken_name, start=appointment.slot.start,
                timezone=ctx.clinic.timezone.key, appointment_id=appointment.appointment_id,
            ),
        ),
        timeout=CALL_TIMEOUT_SECONDS,
    )  # fmt: skip
    if reply.HasField("failure"):
        return refuse(reply.failure.message or "I couldn't send the text.", cause_name(reply.failure))
    return ToolResult(
        True, f"I've sent the confirmation to {speech.phone_tail(appointment.patient.phone)}.", {"sent": True}
    )


async def find_appointments(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    spoken_text = text_arg(args, "phone", "phone_number", limit=40)
    phone = ctx.caller_number or (normalize_phone(spoken_text, ctx.clinic.default_region) if spoken_text else "")
    if not phone:
        if spoken_text:
            return refuse(
                "That phone number doesn't sound right. Could you say it again with the area code?", "INVALID_PHONE"
            )
        return refuse("What phone number is the appointment under?", "MISSING_ARGUMENT", field="phone")
    reply = await ctx.backends.reservation.FindAppointments(
        rpb.FindAppointmentsRequest(tenant_id=ctx.tenant, phone=phone, upcoming_only=True, limit=10),
        timeout=CALL_TIMEOUT_SECONDS,
    )
    appointments = list(reply.appointments)
    data = {"appointments": [appointment_data(ctx, a) for a in appointments]}
    if not appointments:
        return ToolResult(True, "I don't see any upcoming appointments for that number.", data)
    described = [appointment_sentence(ctx, a) for a in appointments[: speech.MAX_SPOKEN_OPTIONS]]
    count = "one upcoming appointment" if len(appointments) == 1 else f"{len(appointments)} upcoming appointments"
    return ToolResult(True, f"You have {count}: {speech.join_or(described, 'and')}.", data)


async def cancel_appointment(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    appointment_id = text_arg(args, "appointment_id", "appointmentId", "booking_id", limit=100)
    if not appointment_id:
        return refuse("Which appointment would you like to cancel?", "MISSING_ARGUMENT", field="appointment_id")
    appointment, problem = await _owned_appointment(ctx, appointment_id)
    if problem or appointment is None:
        return problem or refuse("I couldn't find that appointment.", "NOT_FOUND")
    reply = await ctx.backends.reservation.CancelAppointment(
        rpb.CancelAppointmentRequest(
            tenant_id=ctx.tenant, appointment_id=appointment_id, reason=text_arg(args, "reason", limit=500),
            idempotency_key=ctx.idempotency_key,
        ),
        timeout=CALL_TIMEOUT_SECONDS * 2,
    )  # fmt: skip
    if reply.HasField("failure"):
        return refuse(reply.failure.message or "I couldn't cancel that.", cause_name(reply.failure))
    return ToolResult(
        True,
        f"Done: {appointment_sentence(ctx, reply.appointment)} is cancelled.",
        appointment_data(ctx, reply.appointment),
    )


async def reschedule_appointment(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    appointment_id = text_arg(args, "appointment_id", "appointmentId", "booking_id", limit=100)
    if not appointment_id:
        return refuse("Which appointment would you like to move?", "MISSING_ARGUMENT", field="appointment_id")
    appointment, problem = await _owned_appointment(ctx, appointment_id)
    if problem or appointment is None:
        return problem or refuse("I couldn't find that appointment.", "NOT_FOUND")
    if "service" not in args and "service_id" not in args:
        args = {**args, "service_id": appointment.slot.service_id}
    slot_id, problem = await wanted_slot(ctx, args)
    if problem:
        return problem
    reply = await ctx.backends.reservation.RescheduleAppointment(
        rpb.RescheduleAppointmentRequest(
            tenant_id=ctx.tenant, appointment_id=appointment_id, slot_id=slot_id, idempotency_key=ctx.idempotency_key
        ),
        timeout=CALL_TIMEOUT_SECONDS * 2,
    )
    if reply.HasField("failure"):
        alternatives = list(reply.alternatives)
        sentence = reply.failure.message or "I couldn't move it."
        if alternatives:
            sentence += f" {speech.options_sentence(spoken(ctx, alternatives), ctx.today)}"
        return refuse(sentence, cause_name(reply.failure), alternatives=[slot_data(ctx, s) for s in alternatives])
    return ToolResult(
        True,
        f"Done: it's now {appointment_sentence(ctx, reply.appointment)}.",
        appointment_data(ctx, reply.appointment),
    )


Handler = Callable[[ToolContext, dict[str, Any]], Awaitable[ToolResult]]
TOOLS: dict[str, Handler] = {
    "check_availability": check_availability,
    "reserve_slot": reserve_slot,
    "reserve_atomic": reserve_slot,
    "send_otp": send_otp,
    "verify_otp": verify_otp,
    "confirm_booking": confirm_booking,
    "book_appointment": confirm_booking,
    "send_confirmation": send_confirmation,
    "find_appointments": find_appointments,
    "cancel_appointment": cancel_appointment,
    "reschedule_appointment": reschedule_appointment,
}

FIELD_SENTENCES = {
    "date": "I didn't catch the date. Could you say it another way, like next Tuesday or January 15th?",
    "from_date": "I didn't catch the dates. Could you say them another way?",
    "slot_id": "That time isn't one I can book. Let me check the open times again.",
    "phone": "That phone number doesn't sound right. Could you say it again with the area code?",
    "patient.phone": "That phone number doesn't sound right. Could you say it again with the area code?",
    "code": "I didn't catch the code. Could you read it again?",
    "appointment_id": "I couldn't find that appointment. Shall I look up your appointments?",
}


async def run_tool(ctx: ToolContext, name: str, args: dict[str, Any]) -> ToolResult:
    """Run one tool; faults of the services become speakable `ok: false` results, never errors."""
    handler = TOOLS.get(name)
    if handler is None:
        raise UnknownTool(name)
    try:
        return await handler(ctx, args)
    except grpc.aio.AioRpcError as error:
        code = error.code()
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            field_name = (error.details() or "").split(":", 1)[0].split(" ", 1)[0]
            sentence = FIELD_SENTENCES.get(
                field_name, "Something in that request didn't work. Could you say it another way?"
            )
            return refuse(sentence, "INVALID_ARGUMENT", field=field_name)
        if code == grpc.StatusCode.NOT_FOUND:
            return refuse("I couldn't find that.", "NOT_FOUND")
        return refuse(UNAVAILABLE_SPEECH, "BACKEND_UNAVAILABLE")
