"""Date phrases built on other date phrases: weekday + date, numeric dates, "... after next",
"a week from ...", "the first Monday of next month". Pure: no I/O, no clock.

Each reader takes the normalised phrase, the clinic-local today and `day_of` (the whole grammar,
for the day a phrase is built on) and answers a DateRequest, or None when the phrase is not its
kind. Our relative rules (the assistant reads the date back, so a wrong guess surfaces):

- "Monday the 14th", "Fri, Jan 9th", "Saturday, December 5th", "Friday 1/9": the date as read
  without the weekday (the nearest 14th not past; the nearest January 9th not past, unless a year
  is said); when its weekday is not the one said, `DateMismatch` (never another weekday, never a
  guess at which of the two the caller meant).
- "1/9", "1/9/2027", "1/9/27", "1-9", "1.9": month first (`phrases.resolve` swaps the numbers
  first where the clinic reads the day first); when only one order is a date ("13/5", "5/13"),
  that one; a two-digit year is 20xx.
- "this coming Friday", "the coming Friday", "upcoming Friday": as "Friday" (today included).
- "Friday next week": as "next Friday"; "Friday this week": as "Friday".
- "Friday after next", "the Friday after next": a week after "next Friday".
- "the week after next": Monday to Sunday of the calendar week after next week.
- "a week from Friday", "3 days from tomorrow", "two weeks from today", "5 days from now": the
  day the rest names, plus that many days or weeks.
- "the first of next month", "the 15th of next month", "the 1st of this month": that day of that
  month ("this month" may be past: refused as in_past); "the 3rd of the month" as "the 3rd".
- "the first/second/third/fourth/last Monday of next month / this month / March [2027]": that
  weekday of that month; a month name without a year whose day has passed means next year.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from services.availability.calendar_words import (
    MONTHS,
    ORDINAL_WORDS,
    WEEKDAYS,
    DateMismatch,
    DateRequest,
    PhraseError,
    day_of_month,
    month_after,
    month_day,
    next_weekday,
    nth_weekday,
    ordinal,
    safe_date,
    span_days,
)

DayOf = Callable[[str, date], DateRequest]

_NUMERIC = re.compile(r"^(?:on\s+)?(?:the\s+)?(\d{1,2})([/.-])(\d{1,2})(?:\2(\d{4}|\d{2}))?$")
_WEEKDAY_FIRST = re.compile(r"^(?:on\s+)?(\w+)\s+(.+)$")
_AFTER_NEXT = re.compile(r"^(?:the\s+)?(\w+)\s+after\s+next$")
_COMING = re.compile(r"^(?:this\s+coming|the\s+coming|upcoming|this\s+upcoming)\s+(\w+)$")
_IN_WEEK = re.compile(r"^(?:on\s+)?(\w+)\s+(next|this)\s+week$")
_FROM = re.compile(r"^(.+?)\s+(day|days|week|weeks|fortnight)\s+from\s+(.+)$")
_WEEKDAY_NAMES = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_OF_MONTH = re.compile(rf"^(?:on\s+)?(?:the\s+)?([a-z0-9 ]+?)(?:\s+({_WEEKDAY_NAMES}))?\s+of\s+(.+)$")
_MONTH_YEAR = re.compile(rf"^({'|'.join(sorted(MONTHS, key=len, reverse=True))})(?:,?\s+(\d{{4}}))?$")
_DATE_WORDS = set(MONTHS) | set(ORDINAL_WORDS) | {word for key in ORDINAL_WORDS for word in key.split()}


def _single(day: date) -> DateRequest:
    return DateRequest(day, day)


def numeric(text: str, today: date, _: DayOf) -> DateRequest | None:
    match = _NUMERIC.match(text)
    if not match:
        return None
    month, day, year = int(match.group(1)), int(match.group(3)), match.group(4)
    if month > 12 >= day:  # only one order is a date ("13/5"): that one
        month, day = day, month
    if not 1 <= month <= 12:
        raise PhraseError(f"there is no month {month}")
    full_year = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
    return month_day(today, month, day, full_year)


def weekday_with_date(text: str, today: date, day_of: DayOf) -> DateRequest | None:
    match = _WEEKDAY_FIRST.match(text)
    if not match or match.group(1) not in WEEKDAYS:
        return None
    weekday, rest = WEEKDAYS[match.group(1)], match.group(2).removeprefix("the ")
    if not (re.search(r"\d", rest) or _DATE_WORDS.intersection(rest.split())):
        return None  # "Friday after next", "Monday next week": other readers
    day = ordinal(rest)
    try:
        found = day_of_month(today, day) if day is not None else day_of(rest, today)
    except PhraseError:
        return None
    if found.start != found.end:
        return None
    if found.start.weekday() != weekday:
        raise DateMismatch(weekday, found.start)
    return found


def week_relative(text: str, today: date, day_of: DayOf) -> DateRequest | None:
    """ "Friday after next", "this coming Friday", "Friday next week", "the week after next"."""
    next_monday = today + timedelta(days=7 - today.weekday())
    if text in ("the week after next", "week after next"):
        return DateRequest(next_monday + timedelta(weeks=1), next_monday + timedelta(days=13))
    match = _AFTER_NEXT.match(text)
    if match and match.group(1) in WEEKDAYS:
        return _single(next_monday + timedelta(days=WEEKDAYS[match.group(1)], weeks=1))
    match = _COMING.match(text)
    if match and match.group(1) in WEEKDAYS:
        return _single(next_weekday(today, WEEKDAYS[match.group(1)]))
    if match and match.group(1) in ("weekend", "week"):
        return day_of(f"this {match.group(1)}" if match.group(1) == "weekend" else "next week", today)
    match = _IN_WEEK.match(text)
    if match and match.group(1) in WEEKDAYS:
        return day_of(f"{match.group(2)} {match.group(1)}", today)
    return None


def counted_from(text: str, today: date, day_of: DayOf) -> DateRequest | None:
    """ "a week from Friday", "3 days from tomorrow", "two weeks from today"."""
    match = _FROM.match(text)
    if not match:
        return None
    days = span_days(match.group(1), match.group(2), text)
    base = today if match.group(3) in ("now", "today") else None
    if base is None:
        found = day_of(match.group(3), today)
        if found.start != found.end:
            raise PhraseError(f"{match.group(3)!r} is not one day")
        base = found.start
    return _single(base + timedelta(days=days))


def _month_of(words: str, today: date) -> tuple[int, int, bool] | None:
    """(year, month, year_said) named by "next month", "this month" or "March [2027]"."""
    if words == "next month":
        return (*month_after(today, 1), True)
    if words == "this month":
        return today.year, today.month, True
    match = _MONTH_YEAR.match(words)
    if not match:
        return None
    year = int(match.group(2)) if match.group(2) else today.year
    return year, MONTHS[match.group(1)], match.group(2) is not None


def of_month(text: str, today: date, _: DayOf) -> DateRequest | None:
    """ "the first of next month", "the last Friday of next month", "the 2nd Tuesday of March"."""
    match = _OF_MONTH.match(text)
    if not match:
        return None
    nth_text, weekday_text, month_text = match.groups()
    nth = -1 if nth_text == "last" else ordinal(nth_text)
    if month_text in ("the month", "each month"):
        return day_of_month(today, nth) if nth is not None and weekday_text is None else None
    month = _month_of(month_text, today)
    if nth is None or month is None or (nth < 0 and weekday_text is None):
        return None
    year, month_number, fixed_year = month
    if weekday_text is None:
        found = safe_date(year, month_number, nth)
        if found < today and not fixed_year:  # "the 15th of March" said in April: next year's
            found = safe_date(year + 1, month_number, nth)
        return DateRequest(found, found, in_past=found < today)
    found = nth_weekday(year, month_number, WEEKDAYS[weekday_text], nth)
    if found < today and not fixed_year:
        found = nth_weekday(year + 1, month_number, WEEKDAYS[weekday_text], nth)
    return DateRequest(found, found, in_past=found < today)


READERS: tuple[Callable[[str, date, DayOf], DateRequest | None], ...] = (
    numeric,
    week_relative,
    counted_from,
    of_month,
    weekday_with_date,
)
