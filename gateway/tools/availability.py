"""check_availability: the open times for a day or a range."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from booking.availability.v1 import availability_pb2 as apb
from common.deadlines import GATEWAY_TO_SERVICE
from gateway import speech
from gateway.clinics import Named
from gateway.tools.arguments import text_arg
from gateway.tools.core import Tool, ToolContext, ToolResult, cause_name, refuse
from gateway.tools.wording import options, slot_data

TOOL = "check_availability"
# A weekday's name (English or Spanish, with or without accents) -> its number, Monday 0.
WEEKDAYS = {
    name: n
    for names in (
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
        ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo"),
    )
    for n, name in enumerate(names)
}
PARTS = {"morning": apb.PART_OF_DAY_MORNING, "afternoon": apb.PART_OF_DAY_AFTERNOON, "evening": apb.PART_OF_DAY_EVENING}
PARTS_BY_VALUE = {value: name for name, value in PARTS.items()}
DEFAULT_LIMIT = 10  # compact results: the model reads them
MAX_LIMIT = 50


@dataclass(frozen=True)
class Search:
    date: str = ""
    from_date: str = ""
    to_date: str = ""
    service_id: str = ""
    provider_id: str = ""
    part_of_day: apb.PartOfDay.ValueType = apb.PART_OF_DAY_UNSPECIFIED
    limit: int = DEFAULT_LIMIT


def named_id(
    ctx: ToolContext, text: str, find: Callable[[str], Named | None], choices: Sequence[Named], unknown: str, cause: str
) -> str | ToolResult:
    """The id of the service or provider the caller named ("" when none was named)."""
    if not text:
        return ""
    found = find(text)
    if found is None:
        names = speech.join_or([c.spoken_name for c in choices], "or", ctx.language)
        return refuse(ctx.say(unknown, names=names), cause)
    return found.id


def parse(ctx: ToolContext, args: dict[str, Any]) -> Search | ToolResult:
    service_text = text_arg(args, "service", "service_id", "appointment_type")
    service_id = named_id(
        ctx, service_text, ctx.clinic.find_service, ctx.clinic.services, "unknown_service", "UNKNOWN_SERVICE"
    )
    if isinstance(service_id, ToolResult):
        return service_id
    provider_text = text_arg(args, "provider", "provider_id", "doctor")
    provider_id = named_id(
        ctx, provider_text, ctx.clinic.find_provider, ctx.clinic.providers, "unknown_provider", "UNKNOWN_PROVIDER"
    )
    if isinstance(provider_id, ToolResult):
        return provider_id
    limit = args.get("limit")
    if not (isinstance(limit, int) and not isinstance(limit, bool) and 0 < limit <= MAX_LIMIT):
        limit = DEFAULT_LIMIT
    from_date = text_arg(args, "from", "from_date", "start_date")
    return Search(
        date="" if from_date else text_arg(args, "date", "day", "when"),
        from_date=from_date,
        to_date=text_arg(args, "to", "to_date", "end_date") if from_date else "",
        service_id=service_id,
        provider_id=provider_id,
        part_of_day=PARTS.get(text_arg(args, "part_of_day").lower(), apb.PART_OF_DAY_UNSPECIFIED),
        limit=limit,
    )


def request(ctx: ToolContext, search: Search) -> apb.FindSlotsRequest:
    return apb.FindSlotsRequest(
        tenant_id=ctx.tenant, date=search.date, from_date=search.from_date, to_date=search.to_date,
        service_id=search.service_id, provider_id=search.provider_id, part_of_day=search.part_of_day,
        limit=search.limit, language=ctx.language,
    )  # fmt: skip


def word(ctx: ToolContext, reply: apb.FindSlotsResponse) -> ToolResult:
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
    near = reply.asked_time if reply.HasField("asked_time") else None
    part_asked = reply.part_of_day != apb.PART_OF_DAY_UNSPECIFIED
    if slots:
        return ToolResult(True, options(ctx, slots, near=near, part_asked=part_asked), data)
    if data.get("cause") == "DATE_MISMATCH" and reply.from_date:
        return ToolResult(True, date_mismatch(ctx, reply), data)
    lead = nothing_free(ctx, reply)
    if alternatives:
        offered = options(ctx, alternatives, part_asked=part_asked)
        # Beyond the window the alternatives are the last bookable days, latest first.
        key = "latest_openings" if data.get("cause") == "OUTSIDE_BOOKING_WINDOW" else "next_openings"
        return ToolResult(True, ctx.say(key, lead=lead, options=offered), data)
    return ToolResult(True, ctx.say("nothing_later", lead=lead), data)


def nothing_free(ctx: ToolContext, reply: apb.FindSlotsResponse) -> str:
    """Why there is nothing to offer: the refusal, or nothing free on the day(s) asked."""
    if reply.HasField("failure"):
        return speech.failure(cause_name(reply.failure), reply.failure.reason, TOOL, language=ctx.language)
    if reply.from_date != reply.to_date:
        return ctx.say("nothing_in_range")
    first_day = datetime.fromisoformat(reply.from_date).date() if reply.from_date else ctx.today
    asked = speech.day_phrase(first_day, ctx.today, ctx.language)
    near = (first_day - ctx.today).days in (0, 1)  # said as "today" / "tomorrow"
    return ctx.say("nothing_near" if near else "nothing_on", day=asked)


def date_mismatch(ctx: ToolContext, reply: apb.FindSlotsResponse) -> str:
    """'November 4th is a Wednesday, not a Tuesday. Did you mean Wednesday, November 4th, or a different Tuesday?'
    (the reason is the weekday said, as an English or Spanish name)."""
    day = datetime.fromisoformat(reply.from_date).date()
    said = WEEKDAYS.get(reply.failure.reason.strip().lower())
    if said is None:
        return speech.failure("DATE_MISMATCH", language=ctx.language)
    words = speech.grammar(ctx.language)
    return ctx.say(
        "date_mismatch", date=words.date_words(day), actual=words.weekdays[day.weekday()], said=words.weekdays[said]
    )


async def find(ctx: ToolContext, search: Search) -> apb.FindSlotsResponse:
    reply: apb.FindSlotsResponse = await ctx.backends.availability.FindSlots(
        request(ctx, search), timeout=GATEWAY_TO_SERVICE
    )
    return reply


check_availability = Tool(parse, find, lambda ctx, _, reply: word(ctx, reply))
