"""join_waitlist: the caller waits for a time that suits them; when one frees up, reservation texts
them an offer held in their name (SPEC §11).

The days are the caller's words, resolved by availability in the clinic's timezone (as for
check_availability); whose phone it is, reservation decides (the caller id or a number verified by
code in this call), so a caller who has shown neither is offered a code first."""

from __future__ import annotations

from datetime import date
from typing import Any

from booking.reservation.v1 import reservation_pb2 as rpb
from common.deadlines import GATEWAY_TO_SERVICE
from common.phones import to_e164
from gateway import speech
from gateway.tools import availability
from gateway.tools.arguments import text_arg
from gateway.tools.core import Tool, ToolContext, ToolResult, refuse, refused

TOOL = "join_waitlist"
PARTS = {"morning": "waitlist_morning", "afternoon": "waitlist_afternoon", "evening": "waitlist_evening"}


def parse(ctx: ToolContext, args: dict[str, Any]) -> rpb.JoinWaitlistRequest | ToolResult:
    search = availability.parse(ctx, args)  # the same days, service, provider and part of day
    if isinstance(search, ToolResult):
        return search
    spoken = text_arg(args, "phone", "phone_number", limit=40)
    phone = to_e164(spoken, ctx.clinic.default_region) if spoken else ""
    if phone is None:
        return refuse(ctx.say("phone_invalid"), "INVALID_PHONE")
    return rpb.JoinWaitlistRequest(
        tenant_id=ctx.tenant, phone=phone, patient_name=text_arg(args, "patient_name", "name"), date=search.date,
        from_date=search.from_date, to_date=search.to_date, service_id=search.service_id,
        provider_id=search.provider_id, part_of_day=search.part_of_day, idempotency_key=ctx.idempotency_key,
        caller=rpb.Caller(call_id=ctx.call_id, caller_phone=ctx.caller_number, language=ctx.language),
    )  # fmt: skip


async def join(ctx: ToolContext, request: rpb.JoinWaitlistRequest) -> rpb.JoinWaitlistResponse:
    reply: rpb.JoinWaitlistResponse = await ctx.backends.reservation.JoinWaitlist(request, timeout=GATEWAY_TO_SERVICE)
    return reply


def wanted(ctx: ToolContext, entry: rpb.WaitlistEntry) -> str:
    """'Tuesday, December 8th in the morning with Doctor Lee', 'any day from ... to ...'."""
    first, last = date.fromisoformat(entry.from_date), date.fromisoformat(entry.to_date)
    if first == last:
        days = speech.day_phrase(first, ctx.today, ctx.language)
    else:
        first_said = speech.day_phrase(first, ctx.today, ctx.language)
        last_said = speech.day_phrase(last, ctx.today, ctx.language)
        days = ctx.say("waitlist_days", first=first_said, last=last_said)
    part = availability.PARTS_BY_VALUE.get(entry.part_of_day, "")
    if part:
        days = ctx.say(PARTS[part], days=days)
    provider = next((p for p in ctx.clinic.providers if p.id == entry.provider_id), None)
    return ctx.say("waitlist_with", days=days, provider=provider.spoken_name) if provider else days


def word(ctx: ToolContext, reply: rpb.JoinWaitlistResponse) -> ToolResult:
    if reply.HasField("failure"):
        return refused(ctx, reply.failure, TOOL)
    entry = reply.entry
    phone = speech.phone_tail(reply.phone_ending, ctx.language)
    sentence = ctx.say("waitlisted", wanted=wanted(ctx, entry), phone=phone, minutes=reply.offer_minutes)
    data = {
        "waitlist_id": entry.waitlist_id, "from": entry.from_date, "to": entry.to_date,
        "part_of_day": availability.PARTS_BY_VALUE.get(entry.part_of_day, ""), "offer_minutes": reply.offer_minutes,
    }  # fmt: skip
    return ToolResult(True, sentence, data)


join_waitlist = Tool(parse, join, lambda ctx, _, reply: word(ctx, reply))
