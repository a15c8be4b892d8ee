"""Speech: exact sentences for times, days and lists (pure)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.speech import (
    LANGUAGES,
    SpokenSlot,
    day_phrase,
    failure,
    join_or,
    moment_phrase,
    options_sentence,
    ordinal,
    phone_tail,
    say,
    time_phrase,
)

NY = ZoneInfo("America/New_York")
TODAY = date(2026, 8, 31)  # a Monday


def at(day: int, hour: int, minute: int = 0, month: int = 9) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (at(1, 10), "10 AM"),
        (at(1, 9, 30), "9:30 AM"),
        (at(1, 14, 15), "2:15 PM"),
        (at(1, 12), "12 PM"),
        (at(1, 0), "12 AM"),
        (at(1, 0, 30), "12:30 AM"),
        (at(1, 12, 5), "12:05 PM"),
        (at(1, 23, 45), "11:45 PM"),
    ],
)
def test_time_phrase(value: datetime, expected: str) -> None:
    assert time_phrase(value) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 8, 31), "today"),
        (date(2026, 9, 1), "tomorrow"),
        (date(2026, 9, 2), "Wednesday, September 2nd"),
        (date(2026, 9, 3), "Thursday, September 3rd"),
        (date(2026, 9, 11), "Friday, September 11th"),
        (date(2026, 9, 21), "Monday, September 21st"),
        (date(2026, 9, 22), "Tuesday, September 22nd"),
        (date(2026, 9, 23), "Wednesday, September 23rd"),
        (date(2026, 9, 13), "Sunday, September 13th"),
        (date(2027, 1, 1), "Friday, January 1st"),
        (date(2027, 8, 31), "Tuesday, August 31st, 2027"),
    ],
)
def test_day_phrase(day: date, expected: str) -> None:
    assert day_phrase(day, TODAY) == expected


def test_the_spec_example() -> None:
    assert moment_phrase(at(1, 10), date(2026, 8, 20)) == "Tuesday, September 1st at 10 AM"


@pytest.mark.parametrize(
    ("slots", "expected"),
    [
        ([SpokenSlot(at(1, 9), "Doctor Lee")], "I have tomorrow at 9 AM with Doctor Lee."),
        (
            [
                SpokenSlot(at(1, 9), "Doctor Lee"),
                SpokenSlot(at(1, 9, 30), "Doctor Lee"),
                SpokenSlot(at(1, 14, 15), "Doctor Lee"),
            ],
            "I have tomorrow at 9 AM, 9:30 AM or 2:15 PM with Doctor Lee.",
        ),
        (
            [SpokenSlot(at(1, 9), "Doctor Lee"), SpokenSlot(at(1, 9), "Doctor Patel")],
            "I have tomorrow at 9 AM with Doctor Lee; or 9 AM with Doctor Patel.",
        ),
        (
            [SpokenSlot(at(1, 16), "Doctor Lee"), SpokenSlot(at(3, 9), "Doctor Lee")],
            "I have tomorrow at 4 PM with Doctor Lee; or Thursday, September 3rd at 9 AM with Doctor Lee.",
        ),
        (
            [SpokenSlot(at(1, 8 + n), "Doctor Lee") for n in range(7)],
            "I have tomorrow at 8 AM, 9 AM, 10 AM, 11 AM or 12 PM with Doctor Lee."
            " I have 2 more if none of those work.",
        ),
        ([SpokenSlot(at(31, 17, month=8), "")], "I have today at 5 PM."),
    ],
)
def test_options_sentence(slots: list[SpokenSlot], expected: str) -> None:
    assert options_sentence(slots, TODAY) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (31, "31st"),
        (101, "101st"),
        (111, "111th"),
    ],
)
def test_ordinal(n: int, expected: str) -> None:
    assert ordinal(n) == expected


def test_lists_and_phones() -> None:
    assert join_or(["9", "9:30", "2:15"]) == "9, 9:30 or 2:15"
    assert join_or(["a", "b"], "and") == "a and b"
    assert join_or([]) == ""
    assert phone_tail("+12125550142") == "the number ending in 4 2"
    assert phone_tail("") == "your phone"


# --- sentences by key and by cause ----------------------------------------------------------------
CANCEL, MOVE = "cancel_appointment", "reschedule_appointment"


@pytest.mark.parametrize(
    ("cause", "reason", "tool", "expected"),
    [
        ("SLOT_UNAVAILABLE", "", "reserve_slot", "Sorry, that time was just taken."),
        ("SLOT_UNAVAILABLE", "service_mismatch", MOVE, "That time is for a different kind of appointment."),
        ("SLOT_UNAVAILABLE", "not_offered", "reserve_slot", "That time is no longer offered."),
        ("SLOT_ALREADY_BOOKED_BY_USER", "", "reserve_slot", "You already have this time booked."),
        ("SLOT_ALREADY_BOOKED_BY_USER", "already_confirmed", "confirm_booking", "That appointment is already booked."),
        ("OVERLAPPING_RESERVATION", "", "reserve_slot", "You already have an appointment at that time."),
        ("NOT_FOUND", "hold_not_found", "confirm_booking", "I couldn't find a held time to book."),
        ("NOT_FOUND", "hold_of_another_call", "confirm_booking", "That hold belongs to another call."),
        ("NOT_FOUND", "appointment_not_found", CANCEL, "I couldn't find that appointment."),
        ("NOT_FOUND", "not_confirmed", CANCEL, "That appointment can't be cancelled."),
        ("NOT_FOUND", "not_confirmed", MOVE, "That appointment can't be moved."),
        ("NOT_FOUND", "provider_does_not_offer_service", "", "That provider doesn't offer this appointment."),
        ("LEASE_EXPIRED", "", "confirm_booking", "The hold on that time ran out; let's find it again."),
        ("OTP_REQUIRED", "", "", "Before I book, I need to verify your phone number with a code by text."),
        ("BOOKING_ALREADY_CANCELLED", "", CANCEL, "That appointment is already cancelled."),
        ("BOOKING_ALREADY_CANCELLED", "", MOVE, "That appointment was cancelled."),
        (
            "OUTSIDE_CANCELLATION_WINDOW", "", CANCEL,
            "It's too close to the appointment to cancel by phone; please call the clinic.",
        ),
        (
            "OUTSIDE_CANCELLATION_WINDOW", "", MOVE,
            "It's too close to the appointment to move it by phone; please call the clinic.",
        ),
        ("OTP_SEND_LIMIT", "", "send_otp", "I've sent several codes already; please try again in a few minutes."),
        ("SEND_FAILED", "", "send_otp", "I couldn't send the code just now; let's try again."),
        ("OTP_EXPIRED", "no_current_code", "verify_otp", "That code is no longer valid; I can send a new one."),
        ("OTP_EXPIRED", "", "verify_otp", "That code has expired; I can send a new one."),
        ("OTP_MAX_ATTEMPTS", "", "verify_otp", "Too many tries for that code; I can send a new one."),
        ("OTP_INVALID", "", "verify_otp", "That code doesn't match."),
        ("DATE_IN_PAST", "", "check_availability", "That date has already passed."),
        ("DATE_IN_PAST", "time_in_past", "reserve_slot", "That time has already passed."),
        ("OUTSIDE_BOOKING_WINDOW", "", "check_availability", "We can't book that far ahead yet."),
        ("OUTSIDE_BOOKING_WINDOW", "time_not_bookable", "reserve_slot", "That time can't be booked now."),
        ("OUTSIDE_WORKING_HOURS", "", "reserve_slot", "That time isn't one of our appointment times."),
        ("PHONE_OPTED_OUT", "", "send_confirmation", "That number has opted out of text messages."),
        (
            "VERIFICATION_REQUIRED", "", "confirm_booking",
            "I can text a code to the number on file to confirm it's you. Shall I?",
        ),
    ],
)  # fmt: skip
def test_every_cause_and_reason_of_the_contract_is_worded(cause: str, reason: str, tool: str, expected: str) -> None:
    assert failure(cause, reason, tool) == expected


def test_the_booking_limit_is_said_with_its_number() -> None:
    assert (
        failure("USER_OVER_BOOKING_LIMIT", limit=3) == "You already have 3 upcoming appointments, which is our limit."
    )


def test_fallbacks_an_unknown_reason_the_cause_an_unknown_cause_the_tool() -> None:
    assert failure("NOT_FOUND", "something_new", CANCEL) == "I couldn't find that."
    assert failure("UNSPECIFIED", "", "reserve_slot") == "I couldn't hold that time."
    assert failure("UNSPECIFIED", "", MOVE) == "I couldn't move it."
    assert failure("SOMETHING_NEW", "", "no_such_tool") == say("failed")
    assert failure("OTP_INVALID", language="xx") == "That code doesn't match."  # unknown language: English


def test_every_cause_has_a_sentence_and_every_language_the_same_keys() -> None:
    from booking.common.v1 import common_pb2 as cpb

    causes = {name.removeprefix("FAILURE_CAUSE_") for name in cpb.FailureCause.keys()} - {"UNSPECIFIED"}
    for table in LANGUAGES.values():
        assert causes <= {cause for cause, _, _ in table.FAILURES}
        assert set(table.SENTENCES) == set(LANGUAGES["en"].SENTENCES)


def test_say_fills_placeholders() -> None:
    assert say("unknown_service", names="a dental cleaning or an exam") == (
        "I'm not sure which appointment you mean. We offer a dental cleaning or an exam."
    )
    assert say("which_time") == "Which time would you like? Please pick one of the times I offered."


def test_the_bad_phone_sentence_is_written_once() -> None:
    from devkit.processes import ROOT

    sentence = "That phone number doesn't sound right."
    found = [p for p in (ROOT / "gateway").rglob("*.py") if sentence in p.read_text()]
    assert [p.relative_to(ROOT).as_posix() for p in found] == ["gateway/speech/en.py"]
    assert (ROOT / "gateway/speech/en.py").read_text().count(sentence) == 1
