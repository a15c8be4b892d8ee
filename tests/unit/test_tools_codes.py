"""send_otp and verify_otp: parse and word steps (pure, replies built by hand)."""

from __future__ import annotations

from booking.reservation.v1 import reservation_pb2 as rpb
from gateway.tools import ToolResult
from gateway.tools.codes import (
    CodeTarget,
    parse_send,
    parse_verify,
    send_request,
    verify_request,
    word_send,
    word_verify,
)
from tests.unit.tool_context import CALLER, context, failure


def test_the_code_goes_to_the_caller_id_unless_the_clinic_lets_a_spoken_number_win() -> None:
    assert parse_send(context(), {"phone": "212 555 0199"}) == CodeTarget(phone=CALLER)
    spoken = CodeTarget(phone="+12125550199")
    assert parse_send(context(allow_spoken_phone_for_otp=True), {"phone": "212 555 0199"}) == spoken
    assert parse_send(context(caller=""), {"phone_number": "212 555 0199"}) == spoken
    missing = parse_send(context(caller=""), {})
    assert isinstance(missing, ToolResult) and missing.data == {"cause": "MISSING_ARGUMENT", "field": "phone"}
    assert missing.speech == "What's the best phone number to text you at?"
    invalid = parse_send(context(), {"phone": "555"})
    assert isinstance(invalid, ToolResult) and invalid.data == {"cause": "INVALID_PHONE"}
    assert send_request(context(language="es"), CodeTarget(phone=CALLER)) == rpb.SendOtpRequest(
        tenant_id="demo", phone=CALLER, call_id="call-1", idempotency_key="demo:call-1:tc-1", language="es"
    )


def test_word_a_sent_code_or_why_not() -> None:
    sent = word_send(context(), CodeTarget(phone=CALLER), rpb.SendOtpResponse(sent=True))
    assert sent.ok and sent.data == {"sent": True}
    assert (
        sent.speech == "I've texted a 6-digit code to the number ending in 4 2. Please read it to me when it arrives."
    )
    down = word_send(context(), CodeTarget(phone=CALLER), rpb.SendOtpResponse(failure=failure("SEND_FAILED")))
    assert (
        down.data == {"cause": "SEND_FAILED"} and down.speech == "I couldn't send the code just now; let's try again."
    )
    opted = word_send(context(), CodeTarget(phone=CALLER), rpb.SendOtpResponse(failure=failure("PHONE_OPTED_OUT")))
    assert opted.speech == "That number has opted out of text messages."


def test_a_code_for_an_appointment_goes_to_its_number_and_only_its_last_two_digits_are_said() -> None:
    target = parse_send(context(), {"appointment_id": "appt-1", "phone": "212 555 0199"})
    assert target == CodeTarget(appointment_id="appt-1")
    assert send_request(context(), CodeTarget(appointment_id="appt-1")) == rpb.SendOtpRequest(
        tenant_id="demo", appointment_id="appt-1", call_id="call-1", idempotency_key="demo:call-1:tc-1",
        language="en",
    )
    sent = word_send(context(), CodeTarget(appointment_id="appt-1"), rpb.SendOtpResponse(sent=True, phone_tail="77"))
    assert sent.ok and "the number ending in 7 7." in sent.speech


def test_every_abuse_limit_and_unusable_number_is_worded() -> None:
    pairs = [
        ("OTP_SEND_LIMIT", "per_call_numbers"), ("OTP_SEND_LIMIT", "per_call_codes"),
        ("OTP_SEND_LIMIT", "tenant_budget"), ("INVALID_PHONE", "country_not_allowed"),
        ("INVALID_PHONE", "cannot_receive_sms"), ("INVALID_PHONE", "no_phone_on_appointment"),
    ]  # fmt: skip
    target = CodeTarget(phone=CALLER)
    said = {pair: word_send(context(), target, rpb.SendOtpResponse(failure=failure(*pair))).speech for pair in pairs}
    assert said[("OTP_SEND_LIMIT", "tenant_budget")].startswith("I can't send codes right now.")
    assert said[("INVALID_PHONE", "cannot_receive_sms")].startswith("That number can't get text messages.")
    assert said[("INVALID_PHONE", "no_phone_on_appointment")] == "There's no phone number on that appointment to text."
    assert len(set(said.values())) == len(said)  # each says what went wrong, none the generic refusal


def test_verify_reads_the_digits_as_said() -> None:
    assert parse_verify(context(), {"code": "1 2 3-4 5 6"}) == "123456"
    assert parse_verify(context(), {"otp": 123456}) == "123456"
    missing = parse_verify(context(), {"code": "one"})
    assert isinstance(missing, ToolResult) and missing.speech == "What's the code in the text message?"
    nowhere = parse_verify(context(caller="", call_id=""), {"code": "123456"})
    assert isinstance(nowhere, ToolResult) and nowhere.data == {"cause": "OTP_INVALID"}
    # The tool call's idempotency key: a retried check (on any gateway replica) counts one attempt.
    assert verify_request(context(), "1") == rpb.VerifyOtpRequest(
        tenant_id="demo", call_id="call-1", code="1", idempotency_key="demo:call-1:tc-1"
    )
    assert verify_request(context(call_id=""), "1") == rpb.VerifyOtpRequest(
        tenant_id="demo", phone=CALLER, code="1", idempotency_key="demo:tc-1"
    )


def test_word_a_verification() -> None:
    ok = word_verify(context(), rpb.VerifyOtpResponse(verified=True))
    assert ok.ok and ok.speech == "Thank you, that code is correct." and ok.data == {"verified": True}
    wrong = word_verify(context(), rpb.VerifyOtpResponse(attempts_left=2, failure=failure("OTP_INVALID")))
    assert wrong.data == {"cause": "OTP_INVALID", "attempts_left": 2} and wrong.speech == "That code doesn't match."
    stale = word_verify(context(), rpb.VerifyOtpResponse(failure=failure("OTP_EXPIRED", "no_current_code")))
    assert stale.speech == "That code is no longer valid; I can send a new one."
