"""The words and calendar arithmetic date phrases are built from. Pure: no I/O, no clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from enum import Enum


class PartOfDay(Enum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


class PhraseError(ValueError):
    """The phrase could not be understood as a date."""


class DateMismatch(PhraseError):
    """A weekday and a date that disagree ("Tuesday the 4th" when the 4th is a Wednesday)."""

    def __init__(self, said_weekday: int, day: date) -> None:
        super().__init__(f"{day.isoformat()} is not a {WEEKDAY_NAMES[said_weekday]}")
        self.said_weekday = said_weekday  # 0 = Monday
        self.day = day


@dataclass(frozen=True)
class DateRequest:
    """What a phrase asks for: a range of clinic-local dates, maybe a part of day or a time."""

    start: date
    end: date
    part_of_day: PartOfDay | None = None
    at: time | None = None
    # An explicit date before today: refuse and offer the nearest valid days.
    in_past: bool = False
    # "after 4", "before noon": only times from `after` on and before `before` (clinic-local).
    after: time | None = None
    before: time | None = None


WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "a": 1,
    "an": 1,
    "a couple of": 2,
    "a couple": 2,
    "couple of": 2,
}
ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}

MAX_COUNT_DIGITS = 6  # "in N days": a million days is already past the calendar's end


# "twenty-first" .. "thirty-first" (hyphens become spaces when a phrase is normalised)
for _tens, _tens_value in (("twenty", 20), ("thirty", 30)):
    for _unit, _unit_value in list(ORDINAL_WORDS.items())[:9]:
        if _tens_value + _unit_value <= 31:
            ORDINAL_WORDS[f"{_tens} {_unit}"] = _tens_value + _unit_value


def next_weekday(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def safe_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise PhraseError(f"there is no day {day} in month {month} of {year}") from None


def month_day(today: date, month: int, day: int, year: int | None) -> DateRequest:
    if year is not None:
        wanted = safe_date(year, month, day)
        return DateRequest(wanted, wanted, in_past=wanted < today)
    for candidate_year in (today.year, today.year + 1, today.year + 2, today.year + 3, today.year + 4):
        try:
            wanted = date(candidate_year, month, day)
        except ValueError:
            continue  # Feb 29 outside a leap year: the next leap year
        if wanted >= today:
            return DateRequest(wanted, wanted)
    raise PhraseError(f"there is no day {day} in month {month}")


def day_of_month(today: date, day: int) -> DateRequest:
    if not 1 <= day <= 31:
        raise PhraseError(f"there is no day {day} in a month")
    year, month = today.year, today.month
    for _ in range(13):
        try:
            wanted = date(year, month, day)
        except ValueError:
            wanted = None
        if wanted is not None and wanted >= today:
            return DateRequest(wanted, wanted)
        month += 1
        if month == 13:
            year, month = year + 1, 1
    raise PhraseError(f"there is no day {day} in a month")


WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def number(word: str) -> int | None:
    """A count said as digits or words ("3", "three", "twenty one", "a couple of")."""
    if word.isdecimal():
        # More digits than any calendar holds is no date (and int() refuses thousands of digits).
        return int(word) if len(word) <= MAX_COUNT_DIGITS else None
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    tens, _, unit = word.partition(" ")
    if tens in ("twenty", "thirty") and NUMBER_WORDS.get(unit, 10) < 10:
        return NUMBER_WORDS[tens] + NUMBER_WORDS[unit]
    return None


def ordinal(word: str) -> int | None:
    """A day of the month said as "3", "3rd", "third" or "twenty third"."""
    digits = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", word)
    return int(digits.group(1)) if digits else ORDINAL_WORDS.get(word)


def month_after(today: date, months: int) -> tuple[int, int]:
    """(year, month) `months` calendar months after today's."""
    index = today.year * 12 + today.month - 1 + months
    return index // 12, index % 12 + 1


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The nth (1-based; -1 = last) `weekday` of a month."""
    if nth < 0:
        next_year, next_month = month_after(date(year, month, 1), 1)
        last = date(next_year, next_month, 1) - timedelta(days=1)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    wanted = next_weekday(date(year, month, 1), weekday) + timedelta(weeks=nth - 1)
    if wanted.month != month:
        raise PhraseError(f"there is no {nth}th {WEEKDAY_NAMES[weekday]} in month {month} of {year}")
    return wanted


def span_days(count_text: str, unit: str, phrase: str) -> int:
    """Days in "two weeks", "3 days", "a fortnight" (count and unit as said)."""
    count = number(count_text)
    if count is None:
        raise PhraseError(f"{phrase!r} is not a date phrase")
    return count * {"f": 14, "w": 7}.get(unit[0], 1)
