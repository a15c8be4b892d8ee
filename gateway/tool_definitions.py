"""The ten tools as data: the one source for the gateway's assistant-request reply and for
`python -m gateway.vapi_admin`. Descriptions are written for the model (in English, whatever the
clinic's language: they tell it which date words it may pass through, in English and Spanish)."""

from __future__ import annotations

from typing import Any

from common.deadlines import VAPI_TOOL_TIMEOUT
from gateway.speech import say

SERVER_TIMEOUT_SECONDS = int(VAPI_TOOL_TIMEOUT)  # Vapi's own default, stated so it is visible
# What the gateway must hear from Vapi: tool calls, and the call's end (to free its holds).
SERVER_MESSAGES = ("tool-calls", "end-of-call-report", "status-update")
DATE_HELP = (
    "A date as YYYY-MM-DD, or the caller's own words passed through verbatim, in English or Spanish, e.g. "
    "'today', 'tomorrow', 'tomorrow morning', 'next Tuesday', 'Monday the 14th', 'Fri, Jan 9th', '9 January', '1/9' "
    "(month first), 'this coming Friday', 'Friday after next', 'the week after next', 'a week from Friday', "
    "'in two weeks', 'the first of next month', 'the last Monday of next month', 'Tuesday at 3:30', "
    "'around noon'; 'hoy', 'mañana', 'pasado mañana', 'el próximo martes', 'el 15 de diciembre', "
    "'dentro de una semana', 'la semana que viene', 'el lunes por la mañana'. Resolved in the clinic's "
    "timezone. If the weekday and the date disagree, the answer asks which one the caller meant."
)
LANGUAGE = {
    "type": "string",
    "enum": ["en", "es"],
    "description": (
        "The language the caller speaks: 'es' for Spanish, 'en' for English. The result's speech and the "
        "texts the caller receives are in it. Default: the clinic's language."
    ),
}


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """A tool's parameters; every tool also takes `language`."""
    return {"type": "object", "properties": {**properties, "language": LANGUAGE}, "required": required or []}


S = {"type": "string"}
TOOLS: list[dict[str, Any]] = [
    {
        "name": "check_availability",
        "description": (
            "Find free appointment times, earliest first. Use before offering times; offer at most three. "
            "If the day is full the result lists the next days that have openings."
        ),
        "parameters": _obj({
            "date": {**S, "description": DATE_HELP},
            "from": {**S, "description": "Start of a date range (same formats as date)."},
            "to": {**S, "description": "End of a date range, inclusive."},
            "service": {**S, "description": "The appointment type the caller wants, in their words."},
            "provider": {**S, "description": "A provider the caller asked for, if any."},
            "part_of_day": {"type": "string", "enum": ["morning", "afternoon", "evening"]},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        }),
    },
    {
        "name": "reserve_slot",
        "description": (
            "Hold one offered time for this caller for a few minutes while you finish booking. Pass the slot_id of "
            "the time they chose. If it was just taken, offer the alternatives in the result."
        ),
        "parameters": _obj({
            "slot_id": {**S, "description": "slot_id of the chosen time, exactly as returned by check_availability."},
            "start": {**S, "description": "Only if no slot_id: the start as ISO date-time in the clinic's time."},
            "provider": S, "service": S,
            "patient_name": {**S, "description": "The caller's full name, spelled back to confirm."},
            "patient_phone": {**S, "description": "A phone number the caller said, if different from the caller id."},
        }),
    },
    {
        "name": "send_otp",
        "description": "Text a 6-digit verification code to the caller's phone. Never read a code out yourself.",
        "parameters": _obj(
            {
                "phone": {**S, "description": "Only if the caller gives another number."},
                "appointment_id": {**S, "description": "To text the number on file of this appointment."},
            }
        ),
    },
    {
        "name": "verify_otp",
        "description": "Check the verification code the caller reads back from the text message.",
        "parameters": _obj({"code": {**S, "description": "The digits the caller read out."}}, ["code"]),
    },
    {
        "name": "confirm_booking",
        "description": (
            "Book the held time. Call after reserve_slot (and verify_otp when the clinic requires it). "
            "Read the confirmed day, date and time back to the caller."
        ),
        "parameters": _obj({"hold_id": {**S, "description": "Defaults to this call's hold."}}),
    },
    {
        "name": "send_confirmation",
        "description": "Text the confirmation for an existing appointment again.",
        "parameters": _obj({"appointment_id": S}, ["appointment_id"]),
    },
    {
        "name": "find_appointments",
        "description": "List the caller's upcoming appointments (by caller id, or a number they give).",
        "parameters": _obj({"phone": {**S, "description": "Only if the caller gives another number."}}),
    },
    {
        "name": "cancel_appointment",
        "description": "Cancel one of the caller's appointments (appointment_id from find_appointments). Confirm first.",
        "parameters": _obj({"appointment_id": S, "reason": S}, ["appointment_id"]),
    },
    {
        "name": "reschedule_appointment",
        "description": (
            "Move one of the caller's appointments to a new offered time: the new time is taken and the old one "
            "freed together, or nothing changes."
        ),
        "parameters": _obj(
            {"appointment_id": S, "slot_id": {**S, "description": "slot_id of the new time."}, "start": S},
            ["appointment_id"],
        ),
    },
    {
        "name": "join_waitlist",
        "description": (
            "Put the caller on the waitlist when no offered time suits them: when a matching time frees up they get "
            "a text offering it, held for them for a few minutes; replying YES books it. Needs the caller id or a "
            "number verified with send_otp/verify_otp; if the result asks for a code, offer to text one."
        ),
        "parameters": _obj({
            "date": {**S, "description": DATE_HELP},
            "from": {**S, "description": "Start of the days they could come (same formats as date)."},
            "to": {**S, "description": "End of those days, inclusive."},
            "part_of_day": {"type": "string", "enum": ["morning", "afternoon", "evening"]},
            "service": {**S, "description": "The appointment type they want, in their words."},
            "provider": {**S, "description": "A provider they asked for, if any."},
            "patient_name": {**S, "description": "The caller's full name."},
            "phone": {**S, "description": "Only a number they gave and verified by code in this call."},
        }),
    },
]  # fmt: skip


def vapi_tools(server_url: str, language: str = "en") -> list[dict[str, Any]]:
    """Vapi function tools pointing at this clinic's endpoint, with filler messages in the clinic's
    language (Vapi says them itself, before the tool's own answer)."""
    return [
        {
            "type": "function",
            "function": {"name": tool["name"], "description": tool["description"], "parameters": tool["parameters"]},
            "server": {"url": server_url, "timeoutSeconds": SERVER_TIMEOUT_SECONDS},
            "messages": [
                {"type": "request-start", "content": say(f"filler_{tool['name']}", language)},
                {
                    "type": "request-response-delayed",
                    "content": say("still_working", language),
                    "timingMilliseconds": 3000,
                },
                {"type": "request-failed", "content": say("request_failed", language)},
            ],
        }
        for tool in TOOLS
    ]
