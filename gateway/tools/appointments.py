"""The caller's booked appointments: find them, text a confirmation again, cancel, move.

Changing one needs it to be the caller's: booked with the phone they call from (when known)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from booking.notification.v1 import notification_pb2 as npb
from booking.reservation.v1 import reservation_pb2 as rpb
from common.deadlines import GATEWAY_TO_SERVICE
from common.timestamps import to_timestamp
from gateway import speech
from gateway.tools.arguments import PhoneProblem, choose_phone, text_arg
from gateway.tools.core import Tool, ToolContext, ToolResult, refuse, refused
from gateway.tools.holds import Wanted, parse_wanted
from gateway.tools.wording import appointment_data, appointment_phrase, changed, slot_refused

SEND_CONFIRMATION = "send_confirmation"
CANCEL = "cancel_appointment"
RESCHEDULE = "reschedule_appointment"
MAX_LISTED = 10


def parse_appointment_id(ctx: ToolContext, args: dict[str, Any], question: str) -> str | ToolResult:
    appointment_id = text_arg(args, "appointment_id", "appointmentId", "booking_id", limit=100)
    return appointment_id or refuse(ctx.say(question), "MISSING_ARGUMENT", field="appointment_id")


def word_owned(ctx: ToolContext, reply: rpb.GetAppointmentResponse) -> rpb.Appointment | ToolResult:
    """The appointment, unless it is missing or booked with another phone than the caller's."""
    if not reply.HasField("appointment"):
        return refuse(ctx.say("appointment_not_found"), "NOT_FOUND")
    phone = reply.appointment.patient.phone
    if ctx.caller_number and phone and phone != ctx.caller_number:
        return refuse(ctx.say("not_callers_appointment"), "NOT_FOUND")
    return reply.appointment


async def owned_appointment(ctx: ToolContext, appointment_id: str) -> rpb.Appointment | ToolResult:
    reply = await ctx.backends.reservation.GetAppointment(
        rpb.GetAppointmentRequest(tenant_id=ctx.tenant, appointment_id=appointment_id), timeout=GATEWAY_TO_SERVICE
    )
    return word_owned(ctx, reply)


async def _caller_appointment(ctx: ToolContext, args: dict[str, Any], question: str) -> rpb.Appointment | ToolResult:
    appointment_id = parse_appointment_id(ctx, args, question)
    if isinstance(appointment_id, ToolResult):
        return appointment_id
    return await owned_appointment(ctx, appointment_id)


# --- send_confirmation --------------------------------------------------------------------------
def confirmation_request(ctx: ToolContext, appointment: rpb.Appointment) -> npb.EnqueueSmsRequest:
    slot = appointment.slot
    return npb.EnqueueSmsRequest(
        tenant_id=ctx.tenant, to=appointment.patient.phone, kind=npb.MESSAGE_KIND_CONFIRMATION,
        dedupe_key=f"confirmation-resend:{appointment.appointment_id}:{ctx.tool_call_id or ctx.now.isoformat()}",
        appointment=npb.AppointmentDetails(
            clinic_name=ctx.clinic.name, service_name=slot.service_spoken_name,
            provider_name=slot.provider_spoken_name, start=slot.start,
            timezone=ctx.clinic.timezone.key, appointment_id=appointment.appointment_id,
        ),
    )  # fmt: skip


def word_confirmation(ctx: ToolContext, phone: str, reply: npb.EnqueueSmsResponse) -> ToolResult:
    if reply.HasField("failure"):
        return refused(ctx, reply.failure, SEND_CONFIRMATION)
    return ToolResult(True, ctx.say("confirmation_sent", phone=speech.phone_tail(phone)), {"sent": True})


async def send_confirmation(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    appointment = await _caller_appointment(ctx, args, "which_appointment_to_text")
    if isinstance(appointment, ToolResult):
        return appointment
    if not appointment.patient.phone:
        return refuse(ctx.say("no_phone_on_appointment"), "INVALID_PHONE")
    reply = await ctx.backends.notification.EnqueueSms(
        confirmation_request(ctx, appointment), timeout=GATEWAY_TO_SERVICE
    )
    return word_confirmation(ctx, appointment.patient.phone, reply)


# --- find_appointments --------------------------------------------------------------------------
def parse_find(ctx: ToolContext, args: dict[str, Any]) -> str | ToolResult:
    """The phone the appointments are under: the caller id, else a spoken number."""
    spoken = text_arg(args, "phone", "phone_number", limit=40)
    choice = choose_phone(ctx.caller_number, spoken, ctx.clinic.default_region)
    if choice.problem is PhoneProblem.INVALID:
        return refuse(ctx.say("phone_invalid"), "INVALID_PHONE")
    if choice.problem is PhoneProblem.MISSING:
        return refuse(ctx.say("phone_of_appointment"), "MISSING_ARGUMENT", field="phone")
    return choice.phone


def word_found(ctx: ToolContext, reply: rpb.FindAppointmentsResponse) -> ToolResult:
    appointments = list(reply.appointments)
    data = {"appointments": [appointment_data(ctx, a) for a in appointments]}
    if not appointments:
        return ToolResult(True, ctx.say("no_appointments"), data)
    described = [appointment_phrase(ctx, a) for a in appointments[: speech.MAX_SPOKEN_OPTIONS]]
    listed = speech.join_or(described, "and")
    if len(appointments) == 1:
        return ToolResult(True, ctx.say("one_appointment", appointments=listed), data)
    return ToolResult(True, ctx.say("appointments", count=len(appointments), appointments=listed), data)


async def find_by_phone(ctx: ToolContext, phone: str) -> rpb.FindAppointmentsResponse:
    reply: rpb.FindAppointmentsResponse = await ctx.backends.reservation.FindAppointments(
        rpb.FindAppointmentsRequest(tenant_id=ctx.tenant, phone=phone, upcoming_only=True, limit=MAX_LISTED),
        timeout=GATEWAY_TO_SERVICE,
    )
    return reply


find_appointments = Tool(parse_find, find_by_phone, lambda ctx, _, reply: word_found(ctx, reply))


# --- cancel_appointment -------------------------------------------------------------------------
def word_cancelled(ctx: ToolContext, reply: rpb.CancelAppointmentResponse) -> ToolResult:
    if reply.HasField("failure"):
        return refused(ctx, reply.failure, CANCEL)
    return changed(ctx, "cancelled", reply.appointment)


async def cancel_appointment(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    appointment = await _caller_appointment(ctx, args, "which_appointment_to_cancel")
    if isinstance(appointment, ToolResult):
        return appointment
    reply = await ctx.backends.reservation.CancelAppointment(
        rpb.CancelAppointmentRequest(
            tenant_id=ctx.tenant, appointment_id=appointment.appointment_id,
            reason=text_arg(args, "reason", limit=500), idempotency_key=ctx.idempotency_key,
        ),
        timeout=GATEWAY_TO_SERVICE,
    )  # fmt: skip
    return word_cancelled(ctx, reply)


# --- reschedule_appointment ---------------------------------------------------------------------
@dataclass(frozen=True)
class Move:
    appointment_id: str
    wanted: Wanted


def move_request(ctx: ToolContext, move: Move) -> rpb.RescheduleAppointmentRequest:
    """By slot id, or by start (+ provider; empty keeps the appointment's provider)."""
    wanted = move.wanted
    return rpb.RescheduleAppointmentRequest(
        tenant_id=ctx.tenant, appointment_id=move.appointment_id, slot_id=wanted.slot_id,
        start=to_timestamp(wanted.start) if wanted.start else None, provider_id=wanted.provider_id,
        idempotency_key=ctx.idempotency_key,
    )  # fmt: skip


def word_moved(ctx: ToolContext, reply: rpb.RescheduleAppointmentResponse, *, by_start: bool) -> ToolResult:
    if reply.HasField("failure"):
        return slot_refused(ctx, reply.failure, reply.alternatives, RESCHEDULE, by_start=by_start)
    return changed(ctx, "moved", reply.appointment)


async def reschedule_appointment(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    appointment = await _caller_appointment(ctx, args, "which_appointment_to_move")
    if isinstance(appointment, ToolResult):
        return appointment
    wanted = parse_wanted(ctx, args)
    if isinstance(wanted, ToolResult):
        return wanted
    move = Move(appointment.appointment_id, wanted)
    reply = await ctx.backends.reservation.RescheduleAppointment(move_request(ctx, move), timeout=GATEWAY_TO_SERVICE)
    return word_moved(ctx, reply, by_start=not wanted.slot_id)
