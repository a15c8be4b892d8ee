"""reserve_slot and confirm_booking: parse and word steps (pure, replies built by hand)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from booking.reservation.v1 import reservation_pb2 as rpb
from common.timestamps import to_timestamp
from gateway.tools import ToolResult
from gateway.tools.holds import (
    HoldArgs,
    Wanted,
    confirm_request,
    hold_request,
    parse_confirm,
    parse_hold,
    parse_wanted,
    word_confirm,
    word_hold,
)
from tests.unit.tool_context import CALLER, appointment, context, failure, in_minutes, slot


def test_wanted_by_slot_id_or_by_start() -> None:
    ctx = context()
    assert parse_wanted(ctx, {"slotId": "s1", "start": "2026-11-24T09:00:00"}) == Wanted(slot_id="s1")
    assert parse_wanted(ctx, {"start": "2026-11-24T09:00:00", "provider": "Patel", "service": "exam"}) == Wanted(
        start=datetime(2026, 11, 24, 14, tzinfo=UTC), provider_id="patel", service_id="exam"
    )
    assert parse_wanted(ctx, {"time": "2026-11-24T09:00:00", "provider": "nobody"}) == Wanted(
        start=datetime(2026, 11, 24, 14, tzinfo=UTC)
    )  # an unknown provider: any provider


@pytest.mark.parametrize(
    ("args", "cause", "field", "speech"),
    [
        ({}, "MISSING_ARGUMENT", "slot_id", "Which time would you like? Please pick one of the times I offered."),
        ({"start": "soonish"}, "INVALID_ARGUMENT", "start", "I didn't catch that time."),
        ({"start": "9999-12-31T23:59:59"}, "INVALID_ARGUMENT", "start", "I didn't catch that time."),
        ({"start": "0001-01-01T00:00:00+14:00"}, "INVALID_ARGUMENT", "start", "I didn't catch that time."),
    ],
)
def test_wanted_refusals(args: dict[str, str], cause: str, field: str, speech: str) -> None:
    refused = parse_wanted(context(), args)
    assert isinstance(refused, ToolResult) and not refused.ok
    assert refused.data == {"cause": cause, "field": field} and refused.speech.startswith(speech)


def test_hold_phone_is_the_caller_id_else_a_spoken_number_else_none() -> None:
    assert parse_hold(context(), {"slot_id": "s1", "name": "Ada", "phone": "212 555 0199"}) == HoldArgs(
        Wanted(slot_id="s1"), "Ada", CALLER
    )
    assert parse_hold(context(caller=""), {"slot_id": "s1", "phone": "212 555 0199"}) == HoldArgs(
        Wanted(slot_id="s1"), "", "+12125550199"
    )
    assert parse_hold(context(caller=""), {"slot_id": "s1"}) == HoldArgs(Wanted(slot_id="s1"), "", "")
    refused = parse_hold(context(), {"slot_id": "s1", "patient_phone": "12"})
    assert isinstance(refused, ToolResult) and refused.data == {"cause": "INVALID_PHONE"}
    assert refused.speech == "That phone number doesn't sound right. Could you say it again with the area code?"


def test_hold_request_by_start_leaves_the_provider_to_reservation() -> None:
    start = datetime(2026, 11, 24, 14, tzinfo=UTC)
    request = hold_request(
        context(language="es"), HoldArgs(Wanted(start=start, service_id="cleaning"), "Ada", CALLER)
    )
    assert request == rpb.CreateHoldRequest(
        tenant_id="demo", service_id="cleaning", start=to_timestamp(start), call_id="call-1",
        idempotency_key="demo:call-1:tc-1", patient=rpb.Patient(name="Ada", phone=CALLER), language="es",
    )  # fmt: skip
    assert not hold_request(context(), HoldArgs(Wanted(slot_id="s1"), "", "")).HasField("start")


def test_word_a_hold() -> None:
    reply = rpb.CreateHoldResponse(hold=rpb.Hold(hold_id="h1", slot=slot(24, 9), expires_at=in_minutes(10)))
    result = word_hold(context(), reply, by_start=False)
    assert (
        result.ok and result.speech == "I'm holding tomorrow at 9 AM with Doctor Lee for you for the next 10 minutes."
    )
    assert result.data["hold_id"] == "h1" and result.data["slot_id"] == "s-24-9-0"
    assert result.data["expires_at"] == "2026-11-23T15:10:00Z"  # UTC, one suffix
    quick = rpb.CreateHoldResponse(hold=rpb.Hold(slot=slot(24, 9, provider=""), expires_at=in_minutes(0.2)))
    assert word_hold(context(), quick, by_start=False).speech == (
        "I'm holding tomorrow at 9 AM for you for the next 1 minutes."
    )


def test_word_a_lost_race_with_alternatives() -> None:
    reply = rpb.CreateHoldResponse(failure=failure("SLOT_UNAVAILABLE"), alternatives=[slot(24, 10)])
    result = word_hold(context(), reply, by_start=False)
    assert not result.ok and result.data["cause"] == "SLOT_UNAVAILABLE"
    assert result.speech == "Sorry, that time was just taken. I have tomorrow at 10 AM with Doctor Lee."
    assert [a["slot_id"] for a in result.data["alternatives"]] == ["s-24-10-0"]


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        ("SLOT_UNAVAILABLE", "not_offered"),
        ("OUTSIDE_WORKING_HOURS", ""),
        ("DATE_IN_PAST", "time_in_past"),
        ("OUTSIDE_BOOKING_WINDOW", "time_not_bookable"),
        ("NOT_FOUND", "provider_does_not_offer_service"),
    ],
)
def test_a_start_not_offered_offers_to_look_at_the_day(cause: str, reason: str) -> None:
    reply = rpb.CreateHoldResponse(failure=failure(cause, reason))
    result = word_hold(context(), reply, by_start=True)
    assert result.speech == "That time isn't available. Would you like me to check what's open that day?"
    assert result.data["cause"] == cause
    assert word_hold(context(), reply, by_start=False).speech != result.speech  # a slot id hears the cause


def test_confirm_needs_a_hold_id_or_a_call() -> None:
    assert parse_confirm(context(), {}) == ""  # the call's hold
    assert parse_confirm(context(call_id=""), {"holdId": "h1"}) == "h1"
    refused = parse_confirm(context(call_id=""), {})
    assert isinstance(refused, ToolResult) and refused.data == {"cause": "MISSING_ARGUMENT", "field": "hold_id"}
    assert confirm_request(context(language="es"), "") == rpb.ConfirmHoldRequest(
        tenant_id="demo", call_id="call-1", idempotency_key="demo:call-1:tc-1", language="es"
    )


def test_word_a_booking() -> None:
    booked = word_confirm(context(), rpb.ConfirmHoldResponse(appointment=appointment()))
    assert booked.ok and booked.speech == (
        "You're booked: a dental cleaning with Doctor Lee tomorrow at 9 AM. I've sent you a confirmation text."
    )
    assert booked.data["appointment_id"] == "ap-1" and booked.data["status"] == "CONFIRMED"
    no_phone = word_confirm(context(), rpb.ConfirmHoldResponse(appointment=appointment(phone="")))
    assert no_phone.speech == "You're booked: a dental cleaning with Doctor Lee tomorrow at 9 AM."
    otp = word_confirm(context(), rpb.ConfirmHoldResponse(failure=failure("OTP_REQUIRED")))
    assert otp.data == {"cause": "OTP_REQUIRED"}
    assert otp.speech == "Before I book, I need to verify your phone number with a code by text."
    limit = word_confirm(context(), rpb.ConfirmHoldResponse(failure=failure("USER_OVER_BOOKING_LIMIT", limit=2)))
    assert limit.speech == "You already have 2 upcoming appointments, which is our limit."
