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
- "at 3 pm", "3:30pm", "15:00", "noon": a time of day on the resolved date (today if none).
- ISO datetimes with an offset are converted to the clinic's zone; without one they are
  read as the clinic's local time.
- "first thing" is the morning; "around noon", "lunchtime" are 12 PM; "at 3:30" is 3:30 PM
  (an hour from 1 to 7 without AM/PM is the afternoon's).
- Phrases built on other phrases (weekday + date and DATE_MISMATCH, "1/9", "Friday after next",
  "a week from Friday", "the first Monday of next month"...): see `date_grammar`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from services.availability import date_grammar
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

__all__ = ["WEEKDAY_NAMES", "DateMismatch", "DateRequest", "PartOfDay", "PhraseError", "resolve"]


_ISO_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[t ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(z|[+-]\d{2}:?\d{2})?$"
)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s*(\d{4}))?"
_MONTH_DAY = re.compile(rf"^(?:on\s+)?({_MONTH_NAMES})\.?\s+(?:the\s+)?{_DAY}{_YEAR}$")
_DAY_MONTH = re.compile(rf"^(?:on\s+)?(?:the\s+)?{_DAY}\s+(?:of\s+)?({_MONTH_NAMES})\.?{_YEAR}$")
_DAY_ONLY = re.compile(r"^(?:on\s+)?the\s+(\d{1,2})(?:st|nd|rd|th)$|^(?:on\s+)?the\s+([a-z]+(?: [a-z]+)?)$")
_TIME = re.compile(
    r"(?:^|\s)(?:at\s+|around\s+|about\s+)?(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?|o'?clock)?(?=\s|$)"
)
_IN_N = re.compile(r"^in\s+(.+?)\s+(day|days|week|weeks|fortnight)$")
_PARTS = (
    (re.compile(r"\bfirst\s+thing(?:\s+in\s+the\s+morning)?\b"), PartOfDay.MORNING),
    (re.compile(r"\b(?:in\s+the\s+)?morning\b"), PartOfDay.MORNING),
    (re.compile(r"\b(?:in\s+the\s+)?afternoon\b"), PartOfDay.AFTERNOON),
    (re.compile(r"\b(?:in\s+the\s+)?evening\b"), PartOfDay.EVENING),
    (re.compile(r"\btonight\b"), PartOfDay.EVENING),
)


def _normalise(text: str) -> str:
    text = text.strip().lower()
    text = re.sub(r"[!?;\"]", " ", text)
    text = re.sub(r",(?!\s*\d{4})", " ", text)  # keep "Jan 15, 2027"
    text = text.rstrip(".")
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # "twenty-first"
    return re.sub(r"\s+", " ", text).strip()


def _take_time(text: str) -> tuple[str, time | None]:
    """Pull a time of day ("at 3 pm", "15:30", "noon") out of the phrase."""
    named = (("noon", 12), ("midday", 12), ("lunchtime", 12), ("lunch time", 12), ("lunch", 12), ("midnight", 0))
    for word, hour in named:
        pattern = re.compile(rf"(?:^|\s)(?:at\s+|around\s+|about\s+)?{word}(?=\s|$)")
        value = time(hour, 0)
        if pattern.search(text):
            return pattern.sub(" ", text).strip(), value
    for match in _TIME.finditer(text):
        hour, minute, suffix = int(match.group(1)), int(match.group(2) or 0), match.group(3)
        has_at = match.group(0).strip().split()[0] in ("at", "around", "about")
        if suffix is None and match.group(2) is None and not has_at:
            continue  # a bare number is a day ("the 3rd" is handled elsewhere), not a time
        if minute > 59:
            raise PhraseError("minutes must be below 60")
        if suffix and suffix.startswith(("a", "p")):
            if not 1 <= hour <= 12:
                raise PhraseError(f"{hour} is not an hour on a 12-hour clock")
            hour = hour % 12 + (12 if suffix.startswith("p") else 0)
        elif suffix is None and has_at and 1 <= hour <= 7:
            hour += 12  # "at 3", "at 3:30": clinics are open at 3 pm, not 3 am
        if hour > 23:
            raise PhraseError(f"{hour} is not an hour of the day")
        rest = (text[: match.start()] + " " + text[match.end() :]).strip()
        return re.sub(r"\s+", " ", rest), time(hour, minute)
    return text, None


def _take_part_of_day(text: str) -> tuple[str, PartOfDay | None]:
    for pattern, part in _PARTS:
        if pattern.search(text):
            rest = pattern.sub(" ", text)
            if part is PartOfDay.EVENING and "tonight" in text:
                rest = rest + " today"
            return re.sub(r"\s+", " ", rest).strip(), part
    return text, None


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


def resolve(phrase: str, now: datetime) -> DateRequest:
    """Resolve a spoken or ISO date phrase at `now` (an aware datetime in the clinic's zone)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (the clinic's zone)")
    today = now.date()
    text = _normalise(phrase)
    iso = _iso(text, now)
    if iso is not None:
        return iso

    text, part = _take_part_of_day(text)
    text, at = _take_time(text)
    text = re.sub(r"^(?:on|for|this|the)\s+(?=(today|tomorrow|day after))", "", text).strip()
    try:
        request = _resolve_day(text, today)
    except OverflowError:  # "in 999999 days": past the last date the calendar has
        raise PhraseError(f"{text!r} is beyond the calendar") from None
    return DateRequest(request.start, request.end, part or request.part_of_day, at, request.in_past)


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
    for built_on in date_grammar.READERS:  # phrases built on other phrases
        found = built_on(text, today, _resolve_day)
        if found is not None:
            return found
    raise PhraseError(f"{text!r} is not a date phrase")
