"""check_availability: the open times for a day or a range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from booking.availability.v1 import availability_pb2 as apb
from common.deadlines import GATEWAY_TO_SERVICE
from gateway import speech
from gateway.tools.arguments import text_arg
from gateway.tools.core import ToolContext, ToolResult, cause_name, refuse
from gateway.tools.wording import options, slot_data

TOOL = "check_availability"
PARTS = {"morning": apb.PART_OF_DAY_MORNING, "afternoon": apb.PART_OF_DAY_AFTERNOON, "evening": apb.PART_OF_DAY_EVENING}
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


def parse(ctx: ToolContext, args: dict[str, Any]) -> Search | ToolResult:
    service_id = provider_id = ""
    service_text = text_arg(args, "service", "service_id", "appointment_type")
    if service_text:
        service = ctx.clinic.find_service(service_text)
        if service is None:
            names = speech.join_or([s.spoken_name for s in ctx.clinic.services])
            return refuse(ctx.say("unknown_service", names=names), "UNKNOWN_SERVICE")
        service_id = service.id
    provider_text = text_arg(args, "provider", "provider_id", "doctor")
    if provider_text:
        provider = ctx.clinic.find_provider(provider_text)
        if provider is None:
            names = speech.join_or([p.spoken_name for p in ctx.clinic.providers])
            return refuse(ctx.say("unknown_provider", names=names), "UNKNOWN_PROVIDER")
        provider_id = provider.id
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
        limit=search.limit,
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
    if slots:
        return ToolResult(True, options(ctx, slots), data)
    lead = nothing_free(ctx, reply)
    if alternatives:
        return ToolResult(True, ctx.say("next_openings", lead=lead, options=options(ctx, alternatives)), data)
    return ToolResult(True, ctx.say("nothing_later", lead=lead), data)


def nothing_free(ctx: ToolContext, reply: apb.FindSlotsResponse) -> str:
    """Why there is nothing to offer: the refusal, or nothing free on the day(s) asked."""
    if reply.HasField("failure"):
        return speech.failure(cause_name(reply.failure), reply.failure.reason, TOOL, language=ctx.language)
    if reply.from_date != reply.to_date:
        return ctx.say("nothing_in_range")
    first_day = datetime.fromisoformat(reply.from_date).date() if reply.from_date else ctx.today
    asked = speech.day_phrase(first_day, ctx.today)
    return ctx.say("nothing_near" if asked in ("today", "tomorrow") else "nothing_on", day=asked)


async def check_availability(ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
    search = parse(ctx, args)
    if isinstance(search, ToolResult):
        return search
    reply = await ctx.backends.availability.FindSlots(request(ctx, search), timeout=GATEWAY_TO_SERVICE)
    return word(ctx, reply)
