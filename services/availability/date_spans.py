"""Date phrases that name a span of days: parts of a week or a month, "the week of ...", "the next
few days". Pure: no I/O, no clock. Readers as in `date_grammar` (text, today, day_of).

Our rules (weeks run Monday to Sunday; a span is cut to start today, and one wholly before
today is refused as in_past):
- "early next week", "the beginning/start of next week": Monday to Wednesday of next week;
  "the middle of next week", "mid next week", "midweek": Tuesday to Thursday;
  "late next week", "the end of next week": Thursday to Sunday. The same with "this week" or
  "the week" ("the end of the week": Thursday to Sunday of this week).
  "by the end of the week": today to Sunday.
- "next month": its 1st to its last day; "this month", "the rest of the month": today to the
  month's last day; "early/mid/late next month": days 1-10, 11-20, 21 to the end (also
  "the beginning/middle/end of ..."; "the end of the month" is this month's).
- "the weekend after next": Saturday and Sunday of the week after next.
- "the week of December 7th", "the week of the 14th": the Monday-to-Sunday week holding that day.
- "in/within/over the next few days": today and the 3 days after; "the next couple of days": 2;
  "the next 5 days": 5; "within a week", "within the next week": today and the 7 days after.
- "the following Monday": as "next Monday".
- "December fifteenth", "Dec the 15th": as "December 15th".
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from services.availability.calendar_words import (
    MONTHS,
    WEEKDAYS,
    DateRequest,
    PhraseError,
    month_after,
    month_day,
    number,
    ordinal,
)
from services.availability.date_grammar import DayOf

# (first, last) weekday of each part of a week; (first, last) day of each part of a month (0 = last).
WEEK_PARTS = {"early": (0, 2), "middle": (1, 3), "late": (3, 6), "whole": (0, 6)}
MONTH_PARTS = {"early": (1, 10), "middle": (11, 20), "late": (21, 0), "whole": (1, 0)}
FEW_DAYS = 3
_PART_WORDS = {
    "early": "early",
    "beginning of": "early",
    "the beginning of": "early",
    "start of": "early",
    "the start of": "early",
    "at the beginning of": "early",
    "at the start of": "early",
    "mid": "middle",
    "middle of": "middle",
    "the middle of": "middle",
    "in the middle of": "middle",
    "late": "late",
    "later": "late",
    "end of": "late",
    "the end of": "late",
    "at the end of": "late",
    "towards the end of": "late",
    "": "whole",
    "sometime": "whole",
    "the rest of": "whole",
    "later this": "whole",
}
_PARTS = "|".join(sorted((re.escape(k) for k in _PART_WORDS if k), key=len, reverse=True))
_SPAN = re.compile(rf"^(?:({_PARTS})\s+)?(next|this|the)\s+(week|month)$")
_MIDWEEK = re.compile(r"^midweek(?:\s+(next|this)\s+week)?$")
_WEEK_OF = re.compile(r"^(?:the\s+)?week\s+of\s+(.+)$")
_NEXT_DAYS = re.compile(r"^(?:in|within|over|during)?\s*the\s+next\s+(.+?)\s+(day|days|week|weeks)$")
_WITHIN_WEEK = re.compile(r"^within\s+(?:a|one|the\s+next)\s+week$")
_FOLLOWING = re.compile(r"^(?:on\s+)?(?:the\s+)?following\s+(\w+)$")
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_MONTH_WORDS = re.compile(rf"^(?:on\s+)?({_MONTH_NAMES})\.?\s+(?:the\s+)?([a-z ]+?)(?:,?\s*(\d{{4}}))?$")


def _cut(first: date, last: date, today: date) -> DateRequest:
    """A span from today at the earliest; one wholly past is refused."""
    if last < today:
        return DateRequest(first, last, in_past=True)
    return DateRequest(max(first, today), last)


def _week_part(monday: date, part: str, today: date) -> DateRequest:
    first, last = WEEK_PARTS[part]
    return _cut(monday + timedelta(days=first), monday + timedelta(days=last), today)


def _month_part(year: int, month: int, part: str, today: date) -> DateRequest:
    first, last = MONTH_PARTS[part]
    next_year, next_month = month_after(date(year, month, 1), 1)
    end = date(next_year, next_month, 1) - timedelta(days=1) if last == 0 else date(year, month, last)
    return _cut(date(year, month, first), end, today)


def week_or_month_part(text: str, today: date, _: DayOf) -> DateRequest | None:
    """ "early next week", "the end of the week", "mid next month", "the rest of the month"."""
    if text in ("by the end of the week", "by the end of this week"):
        return DateRequest(today, today + timedelta(days=6 - today.weekday()))
    midweek = _MIDWEEK.match(text)
    if midweek:  # alone: this week's middle unless it is over
        which = midweek.group(1) or ("this" if today.weekday() <= WEEK_PARTS["middle"][1] else "next")
        text = f"middle of {which} week"
    match = _SPAN.match(text)
    if not match:
        return None
    part = _PART_WORDS[match.group(1) or ""]
    which, unit = match.group(2), match.group(3)
    if part == "whole" and which == "the" and not match.group(1):
        return None  # "the week", "the month": not a span we read
    if unit == "week":
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=1 if which == "next" else 0)
        return _week_part(monday, part, today)
    year, month = month_after(today, 1) if which == "next" else (today.year, today.month)
    return _month_part(year, month, part, today)


def around_weeks(text: str, today: date, day_of: DayOf) -> DateRequest | None:
    """ "the weekend after next", "the week of the 14th", "the following Monday"."""
    if text in ("the weekend after next", "weekend after next"):
        saturday = today - timedelta(days=today.weekday()) + timedelta(weeks=2, days=5)
        return DateRequest(saturday, saturday + timedelta(days=1))
    match = _WEEK_OF.match(text)
    if match:
        found = day_of(match.group(1), today)
        if found.start != found.end:
            raise PhraseError(f"{match.group(1)!r} is not one day")
        monday = found.start - timedelta(days=found.start.weekday())
        week = _cut(monday, monday + timedelta(days=6), today)
        return DateRequest(week.start, week.end, in_past=week.in_past or found.in_past)
    match = _FOLLOWING.match(text)
    if match and match.group(1) in WEEKDAYS:
        return day_of(f"next {match.group(1)}", today)
    return None


def next_days(text: str, today: date, _: DayOf) -> DateRequest | None:
    """ "in the next few days", "within the next 5 days", "within a week"."""
    if _WITHIN_WEEK.match(text):
        return DateRequest(today, today + timedelta(days=7))
    match = _NEXT_DAYS.match(text)
    if not match:
        return None
    count_text, unit = match.group(1), match.group(2)
    count = FEW_DAYS if count_text == "few" else number(count_text)
    if count is None:
        return None
    return DateRequest(today, today + timedelta(days=count * (7 if unit.startswith("w") else 1)))


def month_and_words(text: str, today: date, _: DayOf) -> DateRequest | None:
    """ "December fifteenth", "Dec the twenty first, 2027"."""
    match = _MONTH_WORDS.match(text)
    if not match:
        return None
    day = ordinal(match.group(2))
    if day is None:
        return None
    return month_day(today, MONTHS[match.group(1)], day, int(match.group(3)) if match.group(3) else None)


READERS = (week_or_month_part, around_weeks, next_days, month_and_words)
