"""Table-driven tests of date phrases, resolved in the clinic's timezone (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.availability.phrases import DateRequest, PartOfDay, PhraseError, resolve

NY = ZoneInfo("America/New_York")
SUNDAY = datetime(2026, 11, 22, 10, 0, tzinfo=NY)  # Sunday 22 November 2026
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=NY)
NEW_YEARS_EVE_LATE = datetime(2026, 12, 31, 23, 30, tzinfo=NY)  # already 1 January in UTC
LEAP_EVE = datetime(2028, 2, 28, 9, 0, tzinfo=NY)
JAN_31 = datetime(2026, 1, 31, 9, 0, tzinfo=NY)
FEB_5 = datetime(2026, 2, 5, 9, 0, tzinfo=NY)
MID_2027 = datetime(2027, 6, 1, 9, 0, tzinfo=NY)


def d(year: int, month: int, day: int) -> date:
    return date(year, month, day)


def one(day: date, **kwargs: object) -> DateRequest:
    return DateRequest(day, day, **kwargs)  # type: ignore[arg-type]


CASES: list[tuple[str, datetime, DateRequest]] = [
    ("today", SUNDAY, one(d(2026, 11, 22))),
    ("Today.", SUNDAY, one(d(2026, 11, 22))),
    ("tomorrow", SUNDAY, one(d(2026, 11, 23))),
    ("day after tomorrow", SUNDAY, one(d(2026, 11, 24))),
    ("the day after tomorrow", SUNDAY, one(d(2026, 11, 24))),
    ("2026-12-01", SUNDAY, one(d(2026, 12, 1))),
    ("2026-11-01", SUNDAY, one(d(2026, 11, 1), in_past=True)),
    ("2026-11-23T15:00:00Z", SUNDAY, one(d(2026, 11, 23), at=time(10, 0))),
    ("2026-11-23T15:00:00-05:00", SUNDAY, one(d(2026, 11, 23), at=time(15, 0))),
    ("2026-11-24T02:30:00+00:00", SUNDAY, one(d(2026, 11, 23), at=time(21, 30))),
    ("2026-11-23 09:15", SUNDAY, one(d(2026, 11, 23), at=time(9, 15))),
    ("2026-11-22T08:00", SUNDAY, one(d(2026, 11, 22), at=time(8, 0), in_past=True)),
    ("Tuesday", SUNDAY, one(d(2026, 11, 24))),
    ("this Tuesday", MONDAY, one(d(2026, 11, 24))),
    ("next Tuesday", MONDAY, one(d(2026, 12, 1))),
    ("next Tuesday", SUNDAY, one(d(2026, 11, 24))),  # next week starts tomorrow
    ("on Monday", MONDAY, one(d(2026, 11, 23))),  # today included
    ("next Monday", MONDAY, one(d(2026, 11, 30))),
    ("Sunday", MONDAY, one(d(2026, 11, 29))),
    ("fri", SUNDAY, one(d(2026, 11, 27))),
    ("next week", SUNDAY, DateRequest(d(2026, 11, 23), d(2026, 11, 29))),
    ("next week", MONDAY, DateRequest(d(2026, 11, 30), d(2026, 12, 6))),
    ("this week", MONDAY, DateRequest(d(2026, 11, 23), d(2026, 11, 29))),
    ("this weekend", MONDAY, DateRequest(d(2026, 11, 28), d(2026, 11, 29))),
    ("this weekend", SUNDAY, one(d(2026, 11, 22))),
    ("Jan 15", SUNDAY, one(d(2027, 1, 15))),  # year-less and past this year: next year
    ("January 15th", SUNDAY, one(d(2027, 1, 15))),
    ("15th of January", SUNDAY, one(d(2027, 1, 15))),
    ("15 Jan", SUNDAY, one(d(2027, 1, 15))),
    ("December 3rd", SUNDAY, one(d(2026, 12, 3))),
    ("Dec 3, 2026", SUNDAY, one(d(2026, 12, 3))),
    ("March 3 2025", SUNDAY, one(d(2025, 3, 3), in_past=True)),
    ("November 22", SUNDAY, one(d(2026, 11, 22))),  # today is not past
    ("the 3rd", SUNDAY, one(d(2026, 12, 3))),
    ("the 30th", SUNDAY, one(d(2026, 11, 30))),
    ("on the twenty", SUNDAY, None),  # type: ignore[list-item]
    ("the 31st", FEB_5, one(d(2026, 3, 31))),  # February has none: the next month that does
    ("the first", SUNDAY, one(d(2026, 12, 1))),
    ("this morning", SUNDAY, one(d(2026, 11, 22), part_of_day=PartOfDay.MORNING)),
    ("this afternoon", SUNDAY, one(d(2026, 11, 22), part_of_day=PartOfDay.AFTERNOON)),
    ("this evening", SUNDAY, one(d(2026, 11, 22), part_of_day=PartOfDay.EVENING)),
    ("tonight", SUNDAY, one(d(2026, 11, 22), part_of_day=PartOfDay.EVENING)),
    ("tomorrow morning", SUNDAY, one(d(2026, 11, 23), part_of_day=PartOfDay.MORNING)),
    ("Friday in the afternoon", SUNDAY, one(d(2026, 11, 27), part_of_day=PartOfDay.AFTERNOON)),
    ("at 3 pm", SUNDAY, one(d(2026, 11, 22), at=time(15, 0))),
    ("tomorrow at 3:30pm", SUNDAY, one(d(2026, 11, 23), at=time(15, 30))),
    ("tomorrow at 9 a.m.", SUNDAY, one(d(2026, 11, 23), at=time(9, 0))),
    ("tomorrow at 12 pm", SUNDAY, one(d(2026, 11, 23), at=time(12, 0))),
    ("tomorrow at 12 am", SUNDAY, one(d(2026, 11, 23), at=time(0, 0))),
    ("tomorrow at 3", SUNDAY, one(d(2026, 11, 23), at=time(15, 0))),  # clinics are open at 3 pm
    ("tomorrow at 15:45", SUNDAY, one(d(2026, 11, 23), at=time(15, 45))),
    ("noon tomorrow", SUNDAY, one(d(2026, 11, 23), at=time(12, 0))),
    ("in 3 days", SUNDAY, one(d(2026, 11, 25))),
    ("in two weeks", SUNDAY, one(d(2026, 12, 6))),
    # Late-night call: UTC is already on 1 January, the clinic is still on 31 December.
    ("today", NEW_YEARS_EVE_LATE, one(d(2026, 12, 31))),
    ("tomorrow", NEW_YEARS_EVE_LATE, one(d(2027, 1, 1))),
    ("next week", NEW_YEARS_EVE_LATE, DateRequest(d(2027, 1, 4), d(2027, 1, 10))),
    ("Jan 2", NEW_YEARS_EVE_LATE, one(d(2027, 1, 2))),
    ("Dec 31", NEW_YEARS_EVE_LATE, one(d(2026, 12, 31))),
    # Month ends and leap days.
    ("tomorrow", JAN_31, one(d(2026, 2, 1))),
    ("tomorrow", LEAP_EVE, one(d(2028, 2, 29))),
    ("Feb 29", MID_2027, one(d(2028, 2, 29))),  # the next leap year
    ("2028-02-29", LEAP_EVE, one(d(2028, 2, 29))),
]


@pytest.mark.parametrize(("phrase", "now", "expected"), [c for c in CASES if c[2] is not None], ids=str)
def test_resolve(phrase: str, now: datetime, expected: DateRequest) -> None:
    assert resolve(phrase, now) == expected


def test_enough_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    "phrase",
    [
        "someday",
        "next blursday",
        "2026-02-30",
        "Feb 30 2027",
        "the 32nd",
        "at 25:00",
        "at 13 pm",
        "in many days",
        "on the twenty",
    ],
)
def test_unknown_or_impossible_phrases_are_refused(phrase: str) -> None:
    with pytest.raises(PhraseError):
        resolve(phrase, SUNDAY)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        resolve("today", datetime(2026, 11, 22, 10, 0))


def test_clinic_zone_not_utc_decides_today() -> None:
    utc_now = datetime(2027, 1, 1, 4, 30, tzinfo=UTC)  # 23:30 on 31 December in New York
    assert resolve("today", utc_now.astimezone(NY)).start == d(2026, 12, 31)
    assert resolve("today", utc_now.astimezone(ZoneInfo("Asia/Tokyo"))).start == d(2027, 1, 1)


@pytest.mark.parametrize(
    "phrase",
    [
        "in 99999999 days",
        "in 999999 weeks",
        "in 9999999999999 days",
        "in " + "9" * 5000 + " days",  # more digits than int() reads
        "in ² days",  # a digit that is not a decimal digit
        "9999-12-31T23:30:00-05:00",  # past the last instant a datetime holds
        "0001-01-01T00:10:00+05:00",  # before the first one
        "0000-01-01",
    ],
)
def test_dates_past_the_calendar_are_not_understood_rather_than_raising(phrase: str) -> None:
    with pytest.raises(PhraseError):
        resolve(phrase, SUNDAY)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("9999-12-31", one(d(9999, 12, 31))),
        ("Dec 31 9999", one(d(9999, 12, 31))),
        ("9999-12-31T23:00", one(d(9999, 12, 31), at=time(23, 0))),
        ("0001-01-01", one(d(1, 1, 1), in_past=True)),
    ],
)
def test_the_calendars_first_and_last_days_still_resolve(phrase: str, expected: DateRequest) -> None:
    assert resolve(phrase, SUNDAY) == expected
