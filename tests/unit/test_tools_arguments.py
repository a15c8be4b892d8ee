"""Reading the model's arguments (pure): safe text, range-checked times, which phone counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from booking.reservation.v1 import reservation_pb2 as rpb
from gateway.tools.arguments import PhoneChoice, PhoneProblem, choose_phone, clean_text, parse_start, text_arg
from tests.unit.tool_context import CALLER, NY

SPOKEN = "+12125550199"


def test_text_arg_takes_the_first_given_name_as_trimmed_text() -> None:
    assert text_arg({"b": " x ", "a": ""}, "a", "b") == "x"
    assert text_arg({"a": 12}, "a") == "12" and text_arg({"a": 1.5}, "a") == "1.5"
    assert text_arg({"a": True, "b": None, "c": [1], "d": {"x": 1}}, "a", "b", "c", "d") == ""
    assert text_arg({"a": "y" * 500}, "a", limit=10) == "y" * 10


def test_lone_surrogates_and_control_characters_never_reach_a_protobuf() -> None:
    text = text_arg({"name": "Ada\ud800 Love\x00lace\n\r"}, "name")
    assert text == "Ada Love lace"
    rpb.Patient(name=text).SerializeToString()  # a lone surrogate would raise UnicodeEncodeError
    assert clean_text("\ud83d\n\t") == "" and clean_text("🙂 ok") == "🙂 ok"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T09:00:00", datetime(2026, 11, 24, 14, 0, tzinfo=UTC)),  # the clinic's local time
        ("2026-11-24T09:00:00-05:00", datetime(2026, 11, 24, 14, 0, tzinfo=UTC)),
        ("2026-11-24T14:00:00Z", datetime(2026, 11, 24, 14, 0, tzinfo=UTC)),
    ],
)
def test_parse_start_reads_iso_times(text: str, expected: datetime) -> None:
    assert parse_start(text, NY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31T23:59:59",  # local New York is already year 10000 in UTC
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00+14:00",
        "1000-01-01T09:00:00",
        "5000-06-01T09:00:00",
        "next tuesday",
        "2026-02-30T09:00:00",
        "",
    ],
)
def test_parse_start_refuses_what_no_clinic_could_book_without_raising(text: str) -> None:
    assert parse_start(text, NY) is None


@pytest.mark.parametrize(
    ("caller", "spoken", "spoken_wins", "expected"),
    [
        (CALLER, "", False, PhoneChoice(CALLER, PhoneProblem.NONE)),
        (CALLER, "212 555 0199", False, PhoneChoice(CALLER, PhoneProblem.NONE)),  # the caller id wins
        (CALLER, "212 555 0199", True, PhoneChoice(SPOKEN, PhoneProblem.NONE)),  # unless the clinic lets it
        ("", "212 555 0199", False, PhoneChoice(SPOKEN, PhoneProblem.NONE)),  # no caller id
        ("", "", False, PhoneChoice("", PhoneProblem.MISSING)),
        ("", "12", False, PhoneChoice("", PhoneProblem.INVALID)),
        (CALLER, "12", False, PhoneChoice("", PhoneProblem.INVALID)),  # asked again, never guessed
    ],
)
def test_which_phone_counts(caller: str, spoken: str, spoken_wins: bool, expected: PhoneChoice) -> None:
    assert choose_phone(caller, spoken, "US", spoken_wins=spoken_wins) == expected
