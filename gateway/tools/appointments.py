"""The caller's booked appointments: find them, text a confirmation again, cancel, move.

Whose appointment it is, reservation decides (SPEC §3, caller identity): every request carries
the call's `Caller` (call id and caller id), and a refusal (VERIFICATION_REQUIRED) carries nothing
of the appointment, so nothing of it is said either; the caller is offered a code instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from booking.reservation.v1 import reservation_pb2 as rpb
from common.deadlines import GATEWAY_TO_SERVICE
from common.timestamps import to_timestamp
from gateway import speech
from gateway.tools.arguments import PhoneProblem, choose_phone, text_arg
from gateway.tools.core import Tool, ToolContext, ToolResult, refuse, refused
from gateway.tools.holds import Wanted, parse_wanted
from gateway.tools.wording import appointment_data, appointment_phrase, changed, slot_refused

SEND_CONFIRMATION = "send_confirmation"
FIND = "find_appointments"
CANCEL = "cancel_appointment"
RESCHEDULE = "reschedule_appointment"
MAX_LISTED = 10


def caller(ctx: ToolContext) -> rpb.Caller:
    """Who asks: always set by the gateway, which acts for a patient (empty caller id: none known)."""
    return rpb.Caller(call_id=ctx.call_id, caller_phone=ctx.caller_number, language=ctx.language)


def parse_appointment_id(ctx: ToolContext, args: dict[str, Any], question: str) -> str | ToolResult:
    appointment_id = text_arg(args, "appointment_id", "appointmentId", "booking_id", limit=100)
    return appointment_id or refuse(ctx.say(question), "MISSING_ARGUMENT", field="appointment_id")


# --- send_confirmation --------------------------------------------------------------------------
def parse_resend(ctx: ToolContext, args: dict[str, Any]) -> str | ToolResult:
    return parse_appointment_id(ctx, args, "which_appointment_to_text")


def resend_request(ctx: ToolContext, appointment_id: str) -> rpb.ResendConfirmationRequest:
    return rpb.ResendConfirmationRequest(
        tenant_id=ctx.tenant, appointment_id=appointment_id, caller=caller(ctx), idempotency_key=ctx.idempotency_key
    )


async def resend(ctx: ToolContext, appointment_id: str) -> rpb.ResendConfirmationResponse:
    reply: rpb.ResendConfirmationResponse = await ctx.backends.reservation.ResendConfirmation(
        resend_request(ctx, appointment_id), timeout=GATEWAY_TO_SERVICE
    )
    return reply


def word_confirmation(ctx: ToolContext, reply: rpb.ResendConfirmationResponse) -> ToolResult:
    if reply.HasField("failure"):
        return refused(ctx, reply.failure, SEND_CONFIRMATION)
    phone = speech.phone_tail(reply.phone_ending, ctx.language)
    return ToolResult(True, ctx.say("confirmation_sent", phone=phone), {"sent": True})


send_confirmation = Tool(parse_resend, resend, lambda ctx, _, reply: word_confirmation(ctx, reply))


# --- find_appointments --------------------------------------------------------------------------
def parse_find(ctx: ToolContext, args: dict[str, Any]) -> str | ToolResult:
    """The phone the appointments are under: a number the caller says (reservation decides whether
    they may hear it), else the caller id."""
    spoken = text_arg(args, "phone", "phone_number", limit=40)
    choice = choose_phone(ctx.caller_number, spoken, ctx.clinic.default_region, spoken_wins=True)
    if choice.problem is PhoneProblem.INVALID:
        return refuse(ctx.say("phone_invalid"), "INVALID_PHONE")
    if choice.problem is PhoneProblem.MISSING:
        return refuse(ctx.say("phone_of_appointment"), "MISSING_ARGUMENT", field="phone")
    return choice.phone


def word_found(ctx: ToolContext, reply: rpb.FindAppointmentsResponse) -> ToolResult:
    if reply.HasField("failure"):
        return refused(ctx, reply.failure, FIND)
    appointments = list(reply.appointments)
    data = {"appointments": [appointment_data(ctx, a) for a in appointments]}
    if not appointments:
        return ToolResult(True, ctx.say("no_appointments"), data)
    described = [appointment_phrase(ctx, a) for a in appointments[: speech.MAX_SPOKEN_OPTIONS]]
    listed = speech.join_or(described, "and", ctx.language)
    if len(appointments) == 1:
        return ToolResult(True, ctx.say("one_appointment", appointments=listed), data)
    return ToolResult(True, ctx.say("appointments", count=len(appointments), appointments=listed), data)


def find_request(ctx: ToolContext, phone: str) -> rpb.FindAppointmentsRequest:
    return rpb.FindAppointmentsRequest(
        tenant_id=ctx.tenant, phone=phone, upcoming_only=True, limit=MAX_LISTED, caller=caller(ctx)
    )


async def find_by_phone(ctx: ToolContext, phone: str) -> rpb.FindAppointmentsResponse:
    reply: rpb.FindAppointmentsResponse = await ctx.backends.reservation.FindAppointments(
        find_request(ctx, phone), timeout=GATEWAY_TO_SERVICE
    )
    return reply


find_appointments = Tool(parse_find, find_by_phone, lambda ctx, _, reply: word_found(ctx, reply))


# --- cancel_appointment -------------------------------------------------------------------------
def parse_cancel(ctx: ToolContext, args: dict[str, Any]) -> rpb.CancelAppointmentRequest | ToolResult:
    appointment_id = parse_appointment_id(ctx, args, "which_appointment_to_cancel")
    if isinstance(appointment_id, ToolResult):
        return appointment_id
    return rpb.CancelAppointmentRequest(
        tenant_id=ctx.tenant, appointment_id=appointment_id, reason=text_arg(args, "reason", limit=500),
        idempotency_key=ctx.idempotency_key, caller=caller(ctx),
    )  # fmt: skip


async def cancel(ctx: ToolContext, request: rpb.CancelAppointmentRequest) -> rpb.CancelAppointmentResponse:
    reply: rpb.CancelAppointmentResponse = await ctx.backends.reservation.CancelAppointment(
        request, timeout=GATEWAY_TO_SERVICE
    )
    return reply


def word_cancelled(ctx: ToolContext, reply: rpb.CancelAppointmentResponse) -> ToolResult:
    if reply.HasField("failure"):
        return refused(ctx, reply.failure, CANCEL)
    return changed(ctx, "cancelled", reply.appointment)


cancel_appointment = Tool(parse_cancel, cancel, lambda ctx, _, reply: word_cancelled(ctx, reply))


# --- reschedule_appointment ---------------------------------------------------------------------
@dataclass(frozen=True)
class Move:
    appointment_id: str
    wanted: Wanted


def parse_move(ctx: ToolContext, args: dict[str, Any]) -> Move | ToolResult:
    appointment_id = parse_appointment_id(ctx, args, "which_appointment_to_move")
    if isinstance(appointment_id, ToolResult):
        return appointment_id
    wanted = parse_wanted(ctx, args)
    return wanted if isinstance(wanted, ToolResult) else Move(appointment_id, wanted)


def move_request(ctx: ToolContext, move: Move) -> rpb.RescheduleAppointmentRequest:
    """By slot id, or by start (+ provider; empty keeps the appointment's provider)."""
    wanted = move.wanted
    return rpb.RescheduleAppointmentRequest(
        tenant_id=ctx.tenant, appointment_id=move.appointment_id, slot_id=wanted.slot_id,
        start=to_timestamp(wanted.start) if wanted.start else None, provider_id=wanted.provider_id,
        idempotency_key=ctx.idempotency_key, caller=caller(ctx),
    )  # fmt: skip


async def move(ctx: ToolContext, wanted: Move) -> rpb.RescheduleAppointmentResponse:
    reply: rpb.RescheduleAppointmentResponse = await ctx.backends.reservation.RescheduleAppointment(
        move_request(ctx, wanted), timeout=GATEWAY_TO_SERVICE
    )
    return reply


def word_moved(ctx: ToolContext, reply: rpb.RescheduleAppointmentResponse, *, by_start: bool) -> ToolResult:
    if reply.HasField("failure"):
        return slot_refused(ctx, reply.failure, reply.alternatives, RESCHEDULE, by_start=by_start)
    return changed(ctx, "moved", reply.appointment)


reschedule_appointment = Tool(
    parse_move, move, lambda ctx, wanted, reply: word_moved(ctx, reply, by_start=not wanted.wanted.slot_id)
)
