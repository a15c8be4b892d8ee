"""Speech: exact sentences for times, days and lists (pure)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.speech import (
    SpokenSlot,
    day_phrase,
    join_or,
    moment_phrase,
    options_sentence,
    ordinal,
    phone_tail,
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
