"""The assistant's tools. Each reads its arguments (pure), makes its backend call, and words the
reply (pure) as a result the assistant can say. The tenant always comes from the URL and
credential, never from arguments the model produced."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from gateway.tools.appointments import cancel_appointment, find_appointments, reschedule_appointment, send_confirmation
from gateway.tools.availability import check_availability
from gateway.tools.codes import send_otp, verify_otp
from gateway.tools.core import ToolContext, ToolResult, refuse, unavailable
from gateway.tools.holds import confirm_booking, reserve_slot
from gateway.tools.waitlist import join_waitlist

__all__ = ["TOOLS", "Handler", "ToolContext", "ToolResult", "refuse", "run_tool", "unavailable"]


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
    "join_waitlist": join_waitlist,
}

# A service's INVALID_ARGUMENT names the field first ("date: ..."); the caller hears what to fix.
FIELD_SENTENCES = {
    "date": "invalid_date",
    "from_date": "invalid_dates",
    "slot_id": "invalid_slot",
    "phone": "phone_invalid",
    "patient.phone": "phone_invalid",
    "code": "invalid_code",
    "appointment_id": "appointment_not_found",
    "service_id": "invalid_argument",
}


def invalid_argument(ctx: ToolContext, details: str) -> ToolResult:
    field_name = details.split(":", 1)[0].split(" ", 1)[0]
    return refuse(ctx.say(FIELD_SENTENCES.get(field_name, "invalid_argument")), "INVALID_ARGUMENT", field=field_name)


async def run_tool(ctx: ToolContext, name: str, args: dict[str, Any]) -> ToolResult:
    """Run one tool; faults of the services become speakable `ok: false` results, never errors.
    `name` must be in TOOLS (the handlers answer an unknown name themselves)."""
    try:
        return await TOOLS[name](ctx, args)
    except grpc.aio.AioRpcError as error:
        code = error.code()
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            return invalid_argument(ctx, error.details() or "")
        if code == grpc.StatusCode.NOT_FOUND:
            return refuse(ctx.say("not_found"), "NOT_FOUND")
        return unavailable(ctx.language)
