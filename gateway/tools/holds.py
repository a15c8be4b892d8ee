"""reserve_slot and confirm_booking: hold a time for the caller, then book the hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from booking.reservation.v1 import reservation_pb2 as rpb
from common.deadlines import GATEWAY_TO_SERVICE
from common.timestamps import from_timestamp, to_timestamp
from gateway.tools.arguments import PhoneProblem, choose_phone, parse_start, text_arg
from gateway.tools.core import Tool, ToolContext, ToolResult, refuse, refused
from gateway.tools.wording import changed, slot_data, slot_refused, when

RESERVE = "reserve_slot"
CONFIRM = "confirm_booking"


@dataclass(frozen=True)
class Wanted:
    """A time the caller picked: an offered slot's id, or a start (+ provider and service, each
    may be empty: reservation then picks a free provider / the provider's service)."""

    slot_id: str = ""
    start: datetime | None = None  # UTC
    provider_id: str = ""
    service_id: str = ""


def parse_wanted(ctx: ToolContext, args: dict[str, Any]) -> Wanted | ToolResult:
    slot_id = text_arg(args, "slot_id", "slotId", limit=400)
    if slot_id:
        return Wanted(slot_id=slot_id)
    start_text = text_arg(args, "start", "time", "datetime", "start_time")
    if not start_text:
        return refuse(ctx.say("which_time"), "MISSING_ARGUMENT", field="slot_id")
    start = parse_start(start_text, ctx.clinic.timezone)
    if start is None:
        return refuse(ctx.say("time_unclear"), "INVALID_ARGUMENT", field="start")
    service = ctx.clinic.find_service(text_arg(args, "service", "service_id"))
    provider = ctx.clinic.find_provider(text_arg(args, "provider", "provider_id"))
    return Wanted(start=start, provider_id=provider.id if provider else "", service_id=service.id if service else "")


# --- reserve_slot -------------------------------------------------------------------------------
@dataclass(frozen=True)
class HoldArgs:
    wanted: Wanted
    name: str
    phone: str  # "" when neither the call nor the caller gave one: the hold is still made


def parse_hold(ctx: ToolContext, args: dict[str, Any]) -> HoldArgs | ToolResult:
    wanted = parse_wanted(ctx, args)
    if isinstance(wanted, ToolResult):
        return wanted
    spoken = text_arg(args, "patient_phone", "phone", limit=40)
    phone = choose_phone(ctx.caller_number, spoken, ctx.clinic.default_region)
    if phone.problem is PhoneProblem.INVALID:
        return refuse(ctx.say("phone_invalid"), "INVALID_PHONE")
    return HoldArgs(wanted, text_arg(args, "patient_name", "name", "caller_name"), phone.phone)


def hold_request(ctx: ToolContext, hold: HoldArgs) -> rpb.CreateHoldRequest:
    wanted = hold.wanted
    return rpb.CreateHoldRequest(
        tenant_id=ctx.tenant, slot_id=wanted.slot_id, provider_id=wanted.provider_id, service_id=wanted.service_id,
        start=to_timestamp(wanted.start) if wanted.start else None, call_id=ctx.call_id,
        idempotency_key=ctx.idempotency_key, patient=rpb.Patient(name=hold.name, phone=hold.phone),
        language=ctx.language,
    )  # fmt: skip


def word_hold(ctx: ToolContext, reply: rpb.CreateHoldResponse, *, by_start: bool) -> ToolResult:
    if not reply.HasField("hold"):
        return slot_refused(ctx, reply.failure, reply.alternatives, RESERVE, by_start=by_start)
    hold = reply.hold
    expires_at = from_timestamp(hold.expires_at)
    minutes = max(round((expires_at - ctx.now.astimezone(UTC)).total_seconds() / 60), 1)
    moment, provider = when(ctx, hold.slot.start), hold.slot.provider_spoken_name
    sentence = (
        ctx.say("holding_with", when=moment, provider=provider, minutes=minutes)
        if provider
        else ctx.say("holding", when=moment, minutes=minutes)
    )
    expires = expires_at.isoformat().replace("+00:00", "Z")
    data = {"hold_id": hold.hold_id, "expires_at": expires, **slot_data(ctx, hold.slot)}
    return ToolResult(True, sentence, data)


async def create_hold(ctx: ToolContext, hold: HoldArgs) -> rpb.CreateHoldResponse:
    reply: rpb.CreateHoldResponse = await ctx.backends.reservation.CreateHold(
        hold_request(ctx, hold), timeout=GATEWAY_TO_SERVICE
    )
    return reply


reserve_slot = Tool(
    parse_hold, create_hold, lambda ctx, hold, reply: word_hold(ctx, reply, by_start=not hold.wanted.slot_id)
)


# --- confirm_booking ----------------------------------------------------------------------------
def parse_confirm(ctx: ToolContext, args: dict[str, Any]) -> str | ToolResult:
    """The hold id; "" books the call's current hold."""
    hold_id = text_arg(args, "hold_id", "holdId", limit=100)
    if not hold_id and not ctx.call_id:
        return refuse(ctx.say("which_hold"), "MISSING_ARGUMENT", field="hold_id")
    return hold_id


def confirm_request(ctx: ToolContext, hold_id: str) -> rpb.ConfirmHoldRequest:
    return rpb.ConfirmHoldRequest(
        tenant_id=ctx.tenant,
        hold_id=hold_id,
        call_id=ctx.call_id,
        idempotency_key=ctx.idempotency_key,
        language=ctx.language,
    )


def word_confirm(ctx: ToolContext, reply: rpb.ConfirmHoldResponse) -> ToolResult:
    if not reply.HasField("appointment"):
        return refused(ctx, reply.failure, CONFIRM)
    return changed(ctx, "booked_texted" if reply.appointment.patient.phone else "booked", reply.appointment)


async def confirm_hold(ctx: ToolContext, hold_id: str) -> rpb.ConfirmHoldResponse:
    reply: rpb.ConfirmHoldResponse = await ctx.backends.reservation.ConfirmHold(
        confirm_request(ctx, hold_id), timeout=GATEWAY_TO_SERVICE
    )
    return reply


confirm_booking = Tool(parse_confirm, confirm_hold, lambda ctx, _, reply: word_confirm(ctx, reply))
