"""The caller's appointments: parse and word steps (pure, replies built by hand)."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest

from booking.reservation.v1 import reservation_pb2 as rpb
from common.timestamps import to_timestamp
from gateway.tools import ToolResult, run_tool, unavailable
from gateway.tools.appointments import (
    Move,
    find_request,
    move_request,
    parse_appointment_id,
    parse_cancel,
    parse_find,
    resend_request,
    word_cancelled,
    word_confirmation,
    word_found,
    word_moved,
)
from gateway.tools.holds import Wanted
from tests.unit.tool_context import CALLER, appointment, context, failure, slot


def test_the_appointment_id_is_asked_for() -> None:
    refused = parse_appointment_id(context(), {}, "which_appointment_to_cancel")
    assert isinstance(refused, ToolResult) and refused.speech == "Which appointment would you like to cancel?"
    assert parse_appointment_id(context(), {"booking_id": "ap-1"}, "which_appointment_to_move") == "ap-1"


def test_every_appointment_request_carries_the_call_its_caller_id_and_language() -> None:
    ctx = context(language="es")
    expected = rpb.Caller(call_id="call-1", caller_phone=CALLER, language="es")
    cancel = parse_cancel(ctx, {"appointment_id": "ap-1", "reason": "travel"})
    assert isinstance(cancel, rpb.CancelAppointmentRequest) and cancel.caller == expected
    assert cancel.idempotency_key == "demo:call-1:tc-1" and cancel.reason == "travel"
    assert move_request(ctx, Move("ap-1", Wanted(slot_id="s1"))).caller == expected
    assert find_request(ctx, CALLER).caller == expected
    assert resend_request(ctx, "ap-1") == rpb.ResendConfirmationRequest(
        tenant_id="demo", appointment_id="ap-1", caller=expected, idempotency_key="demo:call-1:tc-1"
    )
    # No caller id (a web call, a withheld number): still a caller, one who has proven nothing yet.
    anonymous = find_request(context(caller=""), "+12125550199")
    assert anonymous.HasField("caller") and anonymous.caller.caller_phone == ""


def test_verification_required_says_nothing_of_the_appointment() -> None:
    required = failure("VERIFICATION_REQUIRED", "appointment")
    offers = "To protect your privacy I need to confirm it's you. Shall I text a code to the number on the appointment?"
    for result in (
        word_cancelled(context(), rpb.CancelAppointmentResponse(failure=required)),
        word_moved(context(), rpb.RescheduleAppointmentResponse(failure=required), by_start=False),
        word_confirmation(context(), rpb.ResendConfirmationResponse(failure=required)),
    ):
        assert not result.ok and result.speech == offers
        assert result.data.pop("alternatives", []) == [] and result.data == {"cause": "VERIFICATION_REQUIRED"}
    found = word_found(context(), rpb.FindAppointmentsResponse(failure=failure("VERIFICATION_REQUIRED", "phone")))
    assert not found.ok and found.data == {"cause": "VERIFICATION_REQUIRED"}
    assert found.speech == "To protect your privacy I need to confirm it's you. Shall I text a code to that number?"


def test_a_confirmation_text_again() -> None:
    sent = word_confirmation(context(), rpb.ResendConfirmationResponse(sent=True, phone_ending="42"))
    assert sent.ok and sent.speech == "I've sent the confirmation to the number ending in 4 2."
    limited = rpb.ResendConfirmationResponse(failure=failure("OTP_SEND_LIMIT", "confirmation_resends", 3))
    assert word_confirmation(context(), limited).speech == (
        "I've already re-sent that confirmation 3 times today; please check your messages."
    )
    no_phone = word_confirmation(
        context(), rpb.ResendConfirmationResponse(failure=failure("INVALID_PHONE", "no_phone"))
    )
    assert no_phone.speech == "There's no phone number on that appointment to text."


def test_find_by_a_spoken_number_else_the_caller_id() -> None:
    # A spoken number is looked up as said: reservation decides whether this caller may hear it.
    assert parse_find(context(), {"phone": "212 555 0199"}) == "+12125550199"
    assert parse_find(context(), {}) == CALLER
    assert parse_find(context(caller=""), {"phone": "212 555 0199"}) == "+12125550199"
    missing = parse_find(context(caller=""), {})
    assert isinstance(missing, ToolResult) and missing.speech == "What phone number is the appointment under?"
    invalid = parse_find(context(caller=""), {"phone": "12"})
    assert isinstance(invalid, ToolResult) and invalid.data == {"cause": "INVALID_PHONE"}


def test_word_the_appointments_found() -> None:
    none = word_found(context(), rpb.FindAppointmentsResponse())
    assert none.speech == "I don't see any upcoming appointments for that number." and none.data == {"appointments": []}
    one = word_found(context(), rpb.FindAppointmentsResponse(appointments=[appointment()]))
    assert one.speech == "You have one upcoming appointment: a dental cleaning with Doctor Lee tomorrow at 9 AM."
    two = word_found(context(), rpb.FindAppointmentsResponse(appointments=[appointment(), appointment(25, 10)]))
    assert two.speech == (
        "You have 2 upcoming appointments: a dental cleaning with Doctor Lee tomorrow at 9 AM"
        " and a dental cleaning with Doctor Lee Wednesday, November 25th at 10 AM."
    )


def test_word_a_cancellation() -> None:
    done = word_cancelled(context(), rpb.CancelAppointmentResponse(appointment=appointment(status="CANCELED")))
    assert done.ok and done.speech == "Done: a dental cleaning with Doctor Lee tomorrow at 9 AM is cancelled."
    assert done.data["status"] == "CANCELED"
    late = word_cancelled(context(), rpb.CancelAppointmentResponse(failure=failure("OUTSIDE_CANCELLATION_WINDOW")))
    assert late.speech == "It's too close to the appointment to cancel by phone; please call the clinic."
    twice = word_cancelled(context(), rpb.CancelAppointmentResponse(failure=failure("BOOKING_ALREADY_CANCELLED")))
    assert twice.speech == "That appointment is already cancelled."


def test_move_by_slot_or_by_start_and_word_it() -> None:
    start = datetime(2026, 11, 24, 18, tzinfo=UTC)
    assert move_request(context(), Move("ap-1", Wanted(start=start))) == rpb.RescheduleAppointmentRequest(
        tenant_id="demo", appointment_id="ap-1", start=to_timestamp(start), idempotency_key="demo:call-1:tc-1",
        caller=rpb.Caller(call_id="call-1", caller_phone=CALLER, language="en"),
    )  # fmt: skip
    assert move_request(context(), Move("ap-1", Wanted(slot_id="s1"))).slot_id == "s1"
    moved = word_moved(context(), rpb.RescheduleAppointmentResponse(appointment=appointment(24, 13)), by_start=False)
    assert moved.ok and moved.speech == "Done: it's now a dental cleaning with Doctor Lee tomorrow at 1 PM."
    late = rpb.RescheduleAppointmentResponse(failure=failure("OUTSIDE_CANCELLATION_WINDOW"))
    assert word_moved(context(), late, by_start=False).speech == (
        "It's too close to the appointment to move it by phone; please call the clinic."
    )
    taken = rpb.RescheduleAppointmentResponse(failure=failure("SLOT_UNAVAILABLE"), alternatives=[slot(24, 14)])
    assert word_moved(context(), taken, by_start=False).speech == (
        "Sorry, that time was just taken. I have tomorrow at 2 PM with Doctor Lee."
    )
    kind = rpb.RescheduleAppointmentResponse(failure=failure("SLOT_UNAVAILABLE", "service_mismatch"))
    assert word_moved(context(), kind, by_start=False).speech == "That time is for a different kind of appointment."


class Down(grpc.aio.AioRpcError):  # type: ignore[misc]  # grpc ships no types
    def __init__(self, code: grpc.StatusCode, details: str = "") -> None:
        super().__init__(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


@pytest.mark.parametrize(
    ("error", "cause", "speech"),
    [
        (Down(grpc.StatusCode.INVALID_ARGUMENT, "date: not a date"), "INVALID_ARGUMENT", "I didn't catch the date."),
        (Down(grpc.StatusCode.INVALID_ARGUMENT, "patient.phone is invalid"), "INVALID_ARGUMENT", "That phone number"),
        (Down(grpc.StatusCode.INVALID_ARGUMENT, "odd"), "INVALID_ARGUMENT", "Something in that request didn't work."),
        (Down(grpc.StatusCode.NOT_FOUND), "NOT_FOUND", "I couldn't find that."),
        (Down(grpc.StatusCode.UNAVAILABLE), "BACKEND_UNAVAILABLE", "I'm having trouble reaching the schedule"),
    ],
)
async def test_service_faults_become_speakable_results(
    monkeypatch: pytest.MonkeyPatch, error: grpc.aio.AioRpcError, cause: str, speech: str
) -> None:
    from gateway import tools

    async def fails(*_: object) -> ToolResult:
        raise error

    monkeypatch.setitem(tools.TOOLS, "find_appointments", fails)
    result = await run_tool(context(), "find_appointments", {})
    assert not result.ok and result.data["cause"] == cause and result.speech.startswith(speech)
    assert unavailable().speech == (
        "I'm having trouble reaching the schedule right now. Give me a moment and we can try again."
    )
