"""send_otp and verify_otp: a one-time code by text, to prove the caller holds the phone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from booking.reservation.v1 import reservation_pb2 as rpb
from common.deadlines import GATEWAY_TO_SERVICE
from gateway import speech
from gateway.tools.arguments import PhoneProblem, choose_phone, text_arg
from gateway.tools.core import Tool, ToolContext, ToolResult, refuse, refused

SEND = "send_otp"
VERIFY = "verify_otp"


@dataclass(frozen=True)
class CodeTarget:
    """Where a code goes: a phone, or the phone on file of an appointment (never told to us)."""

    phone: str = ""
    appointment_id: str = ""


def parse_send(ctx: ToolContext, args: dict[str, Any]) -> CodeTarget | ToolResult:
    """The phone to text: the number on an appointment when one is named; else the caller id, or a
    spoken number when there is none (or the clinic lets a spoken number receive codes)."""
    appointment_id = text_arg(args, "appointment_id", "appointmentId", "booking_id", limit=100)
    if appointment_id:
        return CodeTarget(appointment_id=appointment_id)
    spoken = text_arg(args, "phone", "phone_number", "patient_phone", limit=40)
    choice = choose_phone(
        ctx.caller_number, spoken, ctx.clinic.default_region,
        spoken_wins=ctx.clinic.rules.allow_spoken_phone_for_otp,
    )  # fmt: skip
    if choice.problem is PhoneProblem.INVALID:
        return refuse(ctx.say("phone_invalid"), "INVALID_PHONE")
    if choice.problem is PhoneProblem.MISSING:
        return refuse(ctx.say("phone_to_text"), "MISSING_ARGUMENT", field="phone")
    return CodeTarget(phone=choice.phone)


def send_request(ctx: ToolContext, target: CodeTarget) -> rpb.SendOtpRequest:
    return rpb.SendOtpRequest(
        tenant_id=ctx.tenant, phone=target.phone, appointment_id=target.appointment_id, call_id=ctx.call_id,
        idempotency_key=ctx.idempotency_key, language=ctx.language,
    )  # fmt: skip


def word_send(ctx: ToolContext, target: CodeTarget, reply: rpb.SendOtpResponse) -> ToolResult:
    if reply.sent:
        # Only the last two digits: the number on an appointment is never read out in full.
        tail = speech.phone_tail(reply.phone_tail or target.phone, ctx.language)
        return ToolResult(True, ctx.say("code_sent", phone=tail), {"sent": True})
    return refused(ctx, reply.failure, SEND)


async def send_code(ctx: ToolContext, target: CodeTarget) -> rpb.SendOtpResponse:
    reply: rpb.SendOtpResponse = await ctx.backends.reservation.SendOtp(
        send_request(ctx, target), timeout=GATEWAY_TO_SERVICE
    )
    return reply


send_otp = Tool(parse_send, send_code, word_send)


def parse_verify(ctx: ToolContext, args: dict[str, Any]) -> str | ToolResult:
    """The code's digits ("1 2 3 4 5 6" as said); checked against the call, else the caller id."""
    code = re.sub(r"\D", "", text_arg(args, "code", "otp", limit=40))
    if not code:
        return refuse(ctx.say("which_code"), "MISSING_ARGUMENT", field="code")
    if not ctx.call_id and not ctx.caller_number:
        return refuse(ctx.say("code_not_on_call"), "OTP_INVALID")
    return code


def verify_request(ctx: ToolContext, code: str) -> rpb.VerifyOtpRequest:
    """The code is checked against the call's latest code, or the caller id's without a call."""
    return rpb.VerifyOtpRequest(
        tenant_id=ctx.tenant, call_id=ctx.call_id, phone="" if ctx.call_id else ctx.caller_number, code=code,
        idempotency_key=ctx.idempotency_key,
    )


def word_verify(ctx: ToolContext, reply: rpb.VerifyOtpResponse) -> ToolResult:
    if reply.verified:
        return ToolResult(True, ctx.say("code_correct"), {"verified": True})
    return refused(ctx, reply.failure, VERIFY, attempts_left=reply.attempts_left)


async def verify_code(ctx: ToolContext, code: str) -> rpb.VerifyOtpResponse:
    reply: rpb.VerifyOtpResponse = await ctx.backends.reservation.VerifyOtp(
        verify_request(ctx, code), timeout=GATEWAY_TO_SERVICE
    )
    return reply


verify_otp = Tool(parse_verify, verify_code, lambda ctx, _, reply: word_verify(ctx, reply))
