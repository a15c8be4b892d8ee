"""Date phrases a caller says, resolved in the clinic's timezone at the time of the call.

Pure: no I/O, no clock; the caller passes `now` already in the clinic's zone.

Meanings chosen (the assistant is told to read the date back, so ambiguity surfaces):
- "Tuesday", "this Tuesday", "on Tuesday", "coming Tuesday": the next Tuesday, today included.
- "next Tuesday": the Tuesday of next calendar week (weeks start on Monday). Said on a
  Monday 23rd, "this Tuesday" is the 24th and "next Tuesday" the 1st; said on Sunday 22nd,
  both are the 24th, because next week starts tomorrow.
- "next week": Monday to Sunday of next calendar week; "this week": today to Sunday.
- A date without a year that has already passed this year means next year ("Jan 15" said in
  November). A date with an explicit past year, or an explicit ISO date before today, is
  refused (`in_past`), so the service can offer the nearest valid days instead.
- "the 3rd": this month's 3rd if not past, else the next month that has that day.
- "this morning/afternoon/evening", "tonight": today, with a part of day; a part of day may
  follow any date ("tomorrow afternoon", "Friday morning").
- "at 3 pm", "3:30pm", "15:00", "noon": a time of day on the resolved date (today if none);
  "after 4", "before noon": a bound on the times; see `spoken_times` for every time word.
- ISO datetimes with an offset are converted to the clinic's zone; without one they are
  read as the clinic's local time.
- Phrases built on other phrases (weekday + date and DATE_MISMATCH, "1/9", "Friday after next",
  "a week from Friday", "the first Monday of next month"...): see `date_grammar`; spans ("early
  next week", "the end of the month", "the week of the 14th"): see `date_spans`.
- Numeric dates: month first unless the clinic reads the day first (`Reading.day_first`).
- Spanish (`Reading.language == "es"`): rewritten into these phrases by `date_grammar_es`, so
  both languages follow one set of rules.
- Only when none of our rules reads a phrase, a well-kept library may read it as an absolute
  date (`absolute_dates`); relative phrases are never left to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.availability import absolute_dates, date_grammar, date_grammar_es, date_spans
from services.availability.calendar_words import (
    MONTHS,
    ORDINAL_WORDS,
    WEEKDAY_NAMES,
    WEEKDAYS,
    DateMismatch,
    DateRequest,
    PartOfDay,
    PhraseError,
    day_of_month,
    month_day,
    next_weekday,
    safe_date,
    span_days,
)
from services.availability.spoken_times import take_times

__all__ = ["WEEKDAY_NAMES", "DateMismatch", "DateRequest", "PartOfDay", "PhraseError", "Reading", "resolve"]


_ISO_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[t ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(z|[+-]\d{2}:?\d{2})?$"
)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s*(\d{4}))?"
_MONTH_DAY = re.compile(rf"^(?:on\s+)?({_MONTH_NAMES})\.?\s+(?:the\s+)?{_DAY}{_YEAR}$")
_DAY_MONTH = re.compile(rf"^(?:on\s+)?(?:the\s+)?{_DAY}\s+(?:of\s+)?({_MONTH_NAMES})\.?{_YEAR}$")
_DAY_ONLY = re.compile(r"^(?:on\s+)?the\s+(\d{1,2})(?:st|nd|rd|th)?$|^(?:on\s+)?the\s+([a-z]+(?: [a-z]+)?)$")
_NUMERIC_DATE = re.compile(r"(?<![\d/.-])(\d{1,2})([/.-])(\d{1,2})(\2\d{2,4})?(?![\d/.-])")
_IN_N = re.compile(r"^in\s+(?!the\s)(.+?)\s+(day|days|week|weeks|fortnight)$")


def _normalise(text: str) -> str:
    text = text.strip().lower()
    text = re.sub(r"[!?;\"¿¡]", " ", text)
    text = re.sub(r",(?!\s*\d{4})", " ", text)  # keep "Jan 15, 2027"
    text = text.rstrip(".")
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # "twenty-first"
    return re.sub(r"\s+", " ", text).strip()


def _iso(text: str, now: datetime) -> DateRequest | None:
    match = _ISO_DATETIME.match(text)
    if match:
        year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
        second = int(match.group(6) or 0)
        offset = match.group(7)
        try:
            naive = datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise PhraseError(f"{text} is not a valid date and time") from None
        if offset:
            iso_offset = "+00:00" if offset == "z" else offset
            if ":" not in iso_offset:
                iso_offset = iso_offset[:3] + ":" + iso_offset[3:]
            aware = datetime.fromisoformat(naive.isoformat() + iso_offset)
            try:
                local = aware.astimezone(now.tzinfo)
            except OverflowError:  # year 1 or 9999 moved across midnight of the calendar's ends
                raise PhraseError(f"{text} is beyond the calendar") from None
        else:
            local = naive.replace(tzinfo=now.tzinfo)
        wanted = local.date()
        return DateRequest(wanted, wanted, at=local.time().replace(second=0), in_past=local < now)
    match = _ISO_DATE.match(text)
    if match:
        wanted = safe_date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        return DateRequest(wanted, wanted, in_past=wanted < now.date())
    return None


@dataclass(frozen=True)
class Reading:
    """How a clinic reads phrases: their language ("en", "es") and whether "1/9" is day first."""

    language: str = "en"
    day_first: bool = False


ENGLISH_US = Reading()


def resolve(phrase: str, now: datetime, reading: Reading = ENGLISH_US) -> DateRequest:
    """Resolve a spoken or ISO date phrase at `now` (an aware datetime in the clinic's zone)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (the clinic's zone)")
    today = now.date()
    text = _normalise(phrase)
    iso = _iso(text, now)
    if iso is not None:
        return iso
    if reading.language == "es":
        text = date_grammar_es.to_grammar(text)
    if reading.day_first:  # "15/12": read as the grammar's month-first "12/15"
        text = _NUMERIC_DATE.sub(lambda m: f"{m.group(3)}{m.group(2)}{m.group(1)}{m.group(4) or ''}", text)
    text, said = take_times(text)
    text = re.sub(r"^(?:on|for|this|the)\s+(?=(today|tomorrow|day after))", "", text).strip()
    try:
        request = _resolve_day(text, today)
    except OverflowError:  # "in 999999 days": past the last date the calendar has
        raise PhraseError(f"{text!r} is beyond the calendar") from None
    except DateMismatch:
        raise
    except PhraseError:
        # Absolute dates our grammar does not know ("2026/12/15", "15 dic. 2026"): a library's reading.
        fallback = absolute_dates.read(text, today, reading.language, reading.day_first)
        if fallback is None:
            raise
        request = fallback
    return DateRequest(
        request.start,
        request.end,
        said.part or request.part_of_day,
        said.at,
        request.in_past,
        said.after,
        said.before,
    )


def _this_weekend(today: date) -> DateRequest:
    if today.weekday() == 6:
        return DateRequest(today, today)
    saturday = next_weekday(today, 5)
    return DateRequest(saturday, saturday + timedelta(days=1))


def _next_week(today: date) -> DateRequest:
    monday = today + timedelta(days=7 - today.weekday())
    return DateRequest(monday, monday + timedelta(days=6))


def _next_weekend(today: date) -> DateRequest:
    saturday = today + timedelta(days=7 - today.weekday() + 5)
    return DateRequest(saturday, saturday + timedelta(days=1))


def _days_from_today(first: int, last: int) -> Callable[[date], DateRequest]:
    return lambda today: DateRequest(today + timedelta(days=first), today + timedelta(days=last))


# Phrases that name days relative to today, whatever else is said.
_FIXED: tuple[tuple[tuple[str, ...], Callable[[date], DateRequest]], ...] = (
    (
        ("", "today", "now", "asap", "as soon as possible", "this", "soon", "earliest", "anytime", "any time"),
        _days_from_today(0, 0),
    ),
    (("tomorrow", "tmrw", "tomorow"), _days_from_today(1, 1)),
    (("day after tomorrow", "the day after tomorrow", "overmorrow"), _days_from_today(2, 2)),
    (
        ("this week", "later this week", "the rest of the week", "rest of the week"),
        lambda today: DateRequest(today, today + timedelta(days=6 - today.weekday())),
    ),
    (("next week", "the following week", "sometime next week"), _next_week),
    (("this weekend", "the weekend", "weekend"), _this_weekend),
    (("next weekend",), _next_weekend),
)
FIXED_PHRASES = {phrase: meaning for phrases, meaning in _FIXED for phrase in phrases}


def _weekday_phrase(text: str, today: date) -> DateRequest | None:
    words = text.split()
    if not (words and words[-1] in WEEKDAYS and len(words) <= 2):
        return None
    weekday = WEEKDAYS[words[-1]]
    qualifier = words[0] if len(words) == 2 else ""
    if qualifier in ("", "this", "on", "coming", "this coming"):
        wanted = next_weekday(today, weekday)
    elif qualifier == "next":
        next_monday = today + timedelta(days=7 - today.weekday())
        wanted = next_monday + timedelta(days=weekday)
    else:
        raise PhraseError(f"{text!r} is not a date phrase")
    return DateRequest(wanted, wanted)


def _in_n_phrase(text: str, today: date) -> DateRequest | None:
    match = _IN_N.match(text)
    if not match:
        return None
    wanted = today + timedelta(days=span_days(match.group(1), match.group(2), text))
    return DateRequest(wanted, wanted)


def _calendar_phrase(text: str, today: date) -> DateRequest | None:
    match = _MONTH_DAY.match(text)
    if match:
        year = int(match.group(3)) if match.group(3) else None
        return month_day(today, MONTHS[match.group(1)], int(match.group(2)), year)
    match = _DAY_MONTH.match(text)
    if match:
        year = int(match.group(3)) if match.group(3) else None
        return month_day(today, MONTHS[match.group(2)], int(match.group(1)), year)
    match = _DAY_ONLY.match(text)
    if match:
        ordinal = int(match.group(1)) if match.group(1) else ORDINAL_WORDS.get(match.group(2) or "")
        if ordinal is not None:
            return day_of_month(today, ordinal)
    return None


def _resolve_day(text: str, today: date) -> DateRequest:
    fixed = FIXED_PHRASES.get(text)
    if fixed is not None:
        return fixed(today)
    for reader in (_weekday_phrase, _in_n_phrase, _calendar_phrase):
        found = reader(text, today)
        if found is not None:
            return found
    for built_on in (*date_grammar.READERS, *date_spans.READERS):  # phrases built on other phrases
        found = built_on(text, today, _resolve_day)
        if found is not None:
            return found
    raise PhraseError(f"{text!r} is not a date phrase")
