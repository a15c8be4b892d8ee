"""Absolute dates our grammar does not read ("2026/12/15", "15 dic. 2026"),
read by `dateparser` as a fallback. Pure: no I/O, no clock.

Only absolute dates: the library's relative parser is switched off (relative phrases follow our
rules, in `phrases`), and a phrase with neither a digit nor a month name is never handed to it.
A date without a year follows our rule (the next one not past); with a year before today it is
refused as in_past; a weekday said with it must be the date's (else DateMismatch, as ours).
The library is imported on first use: importing it and loading a language costs about 0.3 s
once (then about 1 ms a phrase, and nothing for a phrase read before: readings are cached),
and most phrases never need it."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from services.availability.calendar_words import MONTHS, WEEKDAYS, DateMismatch, DateRequest, month_day
from services.availability.spanish_words import MONTHS as SPANISH_MONTHS
from services.availability.spanish_words import WEEKDAYS as SPANISH_WEEKDAYS

_WORTH_TRYING = re.compile(rf"\d|\b({'|'.join(sorted({*MONTHS, *SPANISH_MONTHS}, key=len, reverse=True))})\b")
_YEAR = re.compile(r"\b\d{4}\b")
_WEEKDAYS = {**WEEKDAYS, **{word: WEEKDAYS[english] for word, english in SPANISH_WEEKDAYS.items()}}
_WEEKDAY = re.compile(rf"\b({'|'.join(sorted(_WEEKDAYS, key=len, reverse=True))})\b")
_BASE = datetime(2000, 1, 1)
MAX_LENGTH = 60  # a date is short; a long text is no date (and would cost the library time)


def read(text: str, today: date, language: str, day_first: bool) -> DateRequest | None:
    """The date `text` names, or None when it names none (or is not absolute)."""
    if len(text) > MAX_LENGTH or not _WORTH_TRYING.search(text):
        return None
    found = _parsed(text, language, day_first)
    if found is None:
        return None
    if _YEAR.search(text):
        request = DateRequest(found, found, in_past=found < today)
    else:
        request = month_day(today, found.month, found.day, None)
    said = _WEEKDAY.search(text)
    if said is not None and request.start.weekday() != _WEEKDAYS[said.group(1)]:
        raise DateMismatch(_WEEKDAYS[said.group(1)], request.start)  # the library would drop the weekday
    return request


@lru_cache(maxsize=1024)
def _parsed(text: str, language: str, day_first: bool) -> date | None:
    """The library's reading; its year matters only when one is said (so no clock is needed)."""
    import dateparser  # lazy: the first import and parse cost ~0.3 s

    settings: dict[str, Any] = {
        "PARSERS": ["custom-formats", "absolute-time"],
        "DATE_ORDER": "DMY" if day_first else "MDY",
        "PREFER_DATES_FROM": "future",
        "REQUIRE_PARTS": ["day", "month"],
        "RELATIVE_BASE": _BASE,  # a leap year: "Feb 29" without a year still reads
    }
    try:
        found = dateparser.parse(text, languages=list(dict.fromkeys((language, "en", "es"))), settings=settings)
    except (ValueError, OverflowError):
        return None
    return None if found is None else found.date()
