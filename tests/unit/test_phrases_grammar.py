"""The date grammar against a table of English phrases, each checked for every day of a year.

Every phrase has an oracle: what it must mean for a given "today", written independently of
services.availability.phrases. "Todays" run from March 2026 to February 2027 late at night
(23:45 in New York, already the next day in UTC), so DST changes, month and year ends are all
crossed. `reads_right` is also used to count the table's score against another phrases module.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.availability import phrases
from services.availability.phrases import PartOfDay, PhraseError, resolve

NY = ZoneInfo("America/New_York")
FIRST_TODAY = date(2026, 3, 1)
TODAYS = [FIRST_TODAY + timedelta(days=n) for n in range(365)]
MISMATCH, PAST = "mismatch", "past"
Expected = tuple[date, date] | str
Oracle = Callable[[date], Expected]
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")  # fmt: skip
WORD_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20,
                "twenty-one": 21, "thirty": 30, "a couple of": 2}  # fmt: skip


# --- the oracle's calendar arithmetic ---------------------------------------------------------------
def weekday_from(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def next_weeks(today: date, weekday: int) -> date:
    return today + timedelta(days=7 - today.weekday() + weekday)


def month_after(today: date, months: int = 1) -> tuple[int, int]:
    index = today.year * 12 + today.month - 1 + months
    return index // 12, index % 12 + 1


def nearest_day_of_month(today: date, day: int) -> date:
    for months in range(13):
        year, month = month_after(today, months)
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found >= today:
            return found
    raise AssertionError(day)


def nearest_month_day(today: date, month: int, day: int) -> date:
    found = date(today.year, month, day)
    return found if found >= today else date(today.year + 1, month, day)


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    first = date(year, month, 1)
    if nth > 0:
        return weekday_from(first, weekday) + timedelta(weeks=nth - 1)
    next_year, next_month = month_after(first)
    last = date(next_year, next_month, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def single(day: date) -> Expected:
    return day, day


def checked(day: date, weekday: int) -> Expected:
    return single(day) if day.weekday() == weekday else MISMATCH


def fixed(day: date) -> Oracle:
    return lambda today: PAST if day < today else single(day)


def later(days: int) -> Oracle:
    return lambda today: single(today + timedelta(days=days))


def on_weekday(weekday: int, weeks: int = 0) -> Oracle:
    return lambda today: single(weekday_from(today, weekday) + timedelta(weeks=weeks))


def in_next_week(weekday: int, weeks: int = 0) -> Oracle:
    return lambda today: single(next_weeks(today, weekday) + timedelta(weeks=weeks))


def of_next_month(weekday: int, nth: int) -> Oracle:
    return lambda today: single(nth_weekday(*month_after(today), weekday, nth))


def day_of_next_month(day: int) -> Oracle:
    return lambda today: single(date(*month_after(today), day))


def day_of_month(day: int, weekday: int | None = None) -> Oracle:
    def oracle(today: date) -> Expected:
        found = nearest_day_of_month(today, day)
        return single(found) if weekday is None else checked(found, weekday)

    return oracle


def month_and_day(month: int, day: int, weekday: int | None = None) -> Oracle:
    def oracle(today: date) -> Expected:
        found = nearest_month_day(today, month, day)
        return single(found) if weekday is None else checked(found, weekday)

    return oracle


def first_weekday_of(month: int, weekday: int) -> Oracle:
    def oracle(today: date) -> Expected:
        return single(
            min(d for d in (nth_weekday(y, month, weekday, 1) for y in (today.year, today.year + 1)) if d >= today)
        )

    return oracle


def this_coming_weekend(today: date) -> Expected:
    if today.weekday() == 6:
        return single(today)
    return weekday_from(today, 5), weekday_from(today, 5) + timedelta(days=1)


# --- the table --------------------------------------------------------------------------------------
SUFFIXES = ("st", "nd", "rd", "th", "th", "th", "th")


def _weekday_rows() -> list[tuple[str, Oracle]]:
    rows: list[tuple[str, Oracle]] = []
    for wd, name in enumerate(DAYS):
        short = name[:3]
        rows += [
            (name.title(), on_weekday(wd)),
            (f"this coming {name}", on_weekday(wd)),
            (f"next {short}", in_next_week(wd)),
            (f"{name} after next", in_next_week(wd, 1)),
            (f"the {name} after next", in_next_week(wd, 1)),
            (f"a week from {name}", on_weekday(wd, 1)),
            (f"{name} next week", in_next_week(wd)),
            (f"the first {name} of next month", of_next_month(wd, 1)),
            (f"the last {name} of next month", of_next_month(wd, -1)),
            (f"{name.title()} the {wd + 10}th", day_of_month(wd + 10, wd)),
            (f"{short.title()}, the {wd + 1}{SUFFIXES[wd]}", day_of_month(wd + 1, wd)),
        ]
    return rows


def _date_rows() -> list[tuple[str, Oracle]]:
    rows: list[tuple[str, Oracle]] = []
    for m, name in enumerate(MONTHS, start=1):
        day = 9 + m  # 10th..21st
        ymd = date(2027, m, day)
        wd = ymd.weekday()
        rows += [
            (f"{DAYS[wd].title()}, {name.title()} {day}th", month_and_day(m, day, wd)),
            (f"{DAYS[wd][:3]} {name[:3]} {day}", month_and_day(m, day, wd)),
            (f"{day} {name}", month_and_day(m, day)),
            (f"{m}/{day}", month_and_day(m, day)),
            (f"{m}/{day}/2027", fixed(ymd)),
            (f"{name.title()} {day}th, 2027", fixed(ymd)),
            (f"{DAYS[wd].title()}, {name.title()} {day}, 2027", fixed(ymd)),
            (f"the first {DAYS[wd]} of {name}", first_weekday_of(m, wd)),
        ]
    return rows


def _relative_rows() -> list[tuple[str, Oracle]]:
    rows: list[tuple[str, Oracle]] = []
    for word, n in WORD_NUMBERS.items():
        rows += [(f"in {word} days", later(n)), (f"in {word} weeks", later(7 * n))]
    rows += [
        ("the first of next month", day_of_next_month(1)),
        ("1st of next month", day_of_next_month(1)),
        ("the 15th of next month", day_of_next_month(15)),
        ("a week from today", later(7)),
        ("a week from tomorrow", later(8)),
        ("two weeks from today", later(14)),
        ("3 days from now", later(3)),
        ("in a fortnight", later(14)),
        ("this coming weekend", this_coming_weekend),
        ("the 1st", day_of_month(1)),
        ("the twenty-first", day_of_month(21)),
        ("on the 30th", day_of_month(30)),
    ]
    return rows


TABLE = _weekday_rows() + _date_rows() + _relative_rows()
# Parts of the day and times attached to a day phrase: (suffix or prefix, part, time).
ATTACHED = [
    ("{} morning", PartOfDay.MORNING, None),
    ("{} afternoon", PartOfDay.AFTERNOON, None),
    ("{} in the evening", PartOfDay.EVENING, None),
    ("{} at 3:30", None, time(15, 30)),
    ("{} around noon", None, time(12, 0)),
    ("first thing {}", PartOfDay.MORNING, None),
]
ATTACHED_TO = ("tomorrow", "Monday", "next Friday", "Friday after next", "the first of next month", "1/9")


def resolved(phrase: str, today: date) -> Expected:
    now = datetime.combine(today, time(23, 45), tzinfo=NY)
    try:
        request = resolve(phrase, now)
    except PhraseError as error:
        mismatch = getattr(phrases, "DateMismatch", None)
        return MISMATCH if mismatch is not None and isinstance(error, mismatch) else f"error: {error}"
    return PAST if request.in_past else (request.start, request.end)


def reads_right(phrase: str, oracle: Oracle, todays: list[date] = TODAYS) -> bool:
    return all(resolved(phrase, today) == oracle(today) for today in todays)


def test_the_table_has_enough_phrases() -> None:
    assert len({phrase for phrase, _ in TABLE}) + len(ATTACHED) * len(ATTACHED_TO) >= 150


@pytest.mark.parametrize(("phrase", "oracle"), TABLE, ids=[phrase for phrase, _ in TABLE])
def test_each_phrase_on_every_day_of_a_year(phrase: str, oracle: Oracle) -> None:
    wrong = [
        (today, resolved(phrase, today), oracle(today)) for today in TODAYS if resolved(phrase, today) != oracle(today)
    ]
    assert not wrong, wrong[:3]


@pytest.mark.parametrize("attached", ATTACHED, ids=[form for form, _, _ in ATTACHED])
def test_a_part_of_day_or_a_time_attached_to_a_day(attached: tuple[str, PartOfDay | None, time | None]) -> None:
    form, part, at = attached
    for day_phrase in ATTACHED_TO:
        for today in TODAYS[::7]:
            now = datetime.combine(today, time(8, 0), tzinfo=NY)
            alone, both = resolve(day_phrase, now), resolve(form.format(day_phrase), now)
            assert (both.start, both.end, both.part_of_day, both.at) == (alone.start, alone.end, part, at), form


def test_never_a_past_date_unless_a_year_says_so() -> None:
    for phrase, _ in TABLE:
        for today in TODAYS[::5]:
            got = resolved(phrase, today)
            if isinstance(got, tuple):
                assert got[0] >= today, (phrase, today)
            else:
                assert got == MISMATCH or (got == PAST and "2027" in phrase), (phrase, today, got)


def test_a_weekday_with_a_date_never_resolves_to_another_weekday() -> None:
    for phrase, _ in TABLE:
        named = [wd for wd, name in enumerate(DAYS) if phrase.lower().split()[0].strip(",") in (name, name[:3])]
        if not named or not any(c.isdigit() for c in phrase):
            continue
        for today in TODAYS:
            got = resolved(phrase, today)
            assert got in (MISMATCH, PAST) or (isinstance(got, tuple) and got[0].weekday() == named[0]), (phrase, today)


def test_a_mismatched_weekday_and_date_name_both() -> None:
    now = datetime(2026, 11, 1, 9, 0, tzinfo=NY)  # Sunday; November 4th is a Wednesday
    with pytest.raises(phrases.DateMismatch) as caught:
        resolve("Tuesday the 4th", now)
    assert (caught.value.said_weekday, caught.value.day) == (1, date(2026, 11, 4))
