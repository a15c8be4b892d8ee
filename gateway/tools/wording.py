"""Slots and appointments as data the model reads and phrases the caller hears. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from booking.common.v1 import common_pb2 as cpb
from booking.reservation.v1 import reservation_pb2 as rpb
from common.timestamps import from_timestamp
from gateway import speech
from gateway.tools.core import ToolContext, ToolResult, cause_name, refuse, refused


def local(ctx: ToolContext, stamp: Timestamp) -> datetime:
    return from_timestamp(stamp).astimezone(ctx.clinic.timezone)


def when(ctx: ToolContext, stamp: Timestamp) -> str:
    return speech.moment_phrase(local(ctx, stamp), ctx.today, ctx.language)


def slot_data(ctx: ToolContext, slot: cpb.Slot) -> dict[str, str]:
    start = local(ctx, slot.start)  # once: a reply lists up to ten slots
    return {
        "slot_id": slot.slot_id,
        "start": start.isoformat(),
        "when": speech.moment_phrase(start, ctx.today, ctx.language),
        "provider": slot.provider_spoken_name,
        "provider_id": slot.provider_id,
        "service_id": slot.service_id,
    }


def options(
    ctx: ToolContext, slots: Sequence[cpb.Slot], *, near: Timestamp | None = None, part_asked: bool = False
) -> str:
    """'I have tomorrow at 9 AM or 9:30 AM with Doctor Lee.': at most three times read out,
    the nearest to `near` (a time the caller asked for) when given (gateway.speech.offers)."""
    spoken = [speech.SpokenSlot(local(ctx, s.start), s.provider_spoken_name) for s in slots]
    asked = local(ctx, near) if near is not None else None
    return speech.offer_sentence(spoken, ctx.today, near=asked, part_asked=part_asked, language=ctx.language)


def appointment_data(ctx: ToolContext, appointment: rpb.Appointment) -> dict[str, str]:
    return {
        "appointment_id": appointment.appointment_id,
        "status": rpb.ReservationStatus.Name(appointment.status).removeprefix("RESERVATION_STATUS_"),
        "start": local(ctx, appointment.slot.start).isoformat(),
        "when": when(ctx, appointment.slot.start),
        "provider": appointment.slot.provider_spoken_name,
        "service": appointment.slot.service_spoken_name,
    }


def appointment_phrase(ctx: ToolContext, appointment: rpb.Appointment) -> str:
    """'a dental cleaning with Doctor Lee tomorrow at 9 AM'."""
    slot = appointment.slot
    what = slot.service_spoken_name or ctx.say("your_appointment")
    if slot.provider_spoken_name:
        return ctx.say("appointment_with", what=what, provider=slot.provider_spoken_name, when=when(ctx, slot.start))
    return ctx.say("appointment", what=what, when=when(ctx, slot.start))


def changed(ctx: ToolContext, key: str, appointment: rpb.Appointment) -> ToolResult:
    """An appointment booked, cancelled or moved: the sentence `key` about it, and its data."""
    return ToolResult(
        True, ctx.say(key, appointment=appointment_phrase(ctx, appointment)), appointment_data(ctx, appointment)
    )


# A time asked for by `start` that availability does not offer: the caller hears one sentence
# (as when the gateway looked the time up itself), the model still gets the precise cause.
NOT_OFFERED = {
    ("SLOT_UNAVAILABLE", "not_offered"),
    ("OUTSIDE_WORKING_HOURS", ""),
    ("DATE_IN_PAST", "time_in_past"),
    ("OUTSIDE_BOOKING_WINDOW", "time_not_bookable"),
    ("NOT_FOUND", "provider_does_not_offer_service"),
}


def slot_refused(
    ctx: ToolContext, failure: cpb.Failure, alternatives: Sequence[cpb.Slot], tool: str, *, by_start: bool
) -> ToolResult:
    """A hold or move refused, with any alternatives read out and listed."""
    data: dict[str, Any] = {"alternatives": [slot_data(ctx, s) for s in alternatives]}
    if by_start and (cause_name(failure), failure.reason) in NOT_OFFERED:
        result = refuse(ctx.say("time_unavailable"), cause_name(failure), **data)
    else:
        result = refused(ctx, failure, tool, **data)
    if not alternatives:
        return result
    return ToolResult(False, ctx.say("then", first=result.speech, then=options(ctx, alternatives)), result.data)
