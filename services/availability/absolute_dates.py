"""Absolute dates our grammar does not read ("2026/12/15", "15 dic. 2026", "December the 15th"),
read by `dateparser` as a fallback. Pure: no I/O, no clock.

Only absolute dates: the library's relative parser is switched off (relative phrases follow our
rules, in `phrases`), and a phrase with neither a digit nor a month name is never handed to it.
A date without a year follows our rule (the next one not past); with a year before today it is
refused as in_past. The library is imported on first use: importing it and loading a language
costs about 0.3 s once (then about 1 ms a phrase), and most phrases never need it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from services.availability.calendar_words import MONTHS, DateRequest, month_day
from services.availability.spanish_words import MONTHS as SPANISH_MONTHS

_WORTH_TRYING = re.compile(rf"\d|\b({'|'.join(sorted({*MONTHS, *SPANISH_MONTHS}, key=len, reverse=True))})\b")
_YEAR = re.compile(r"\b\d{4}\b")
MAX_LENGTH = 60  # a date is short; a long text is no date (and would cost the library time)


def read(text: str, today: date, language: str, day_first: bool) -> DateRequest | None:
    """The date `text` names, or None when it names none (or is not absolute)."""
    if len(text) > MAX_LENGTH or not _WORTH_TRYING.search(text):
        return None
    import dateparser  # lazy: the first import and parse cost ~0.3 s

    settings: dict[str, Any] = {
        "PARSERS": ["custom-formats", "absolute-time"],
        "DATE_ORDER": "DMY" if day_first else "MDY",
        "PREFER_DATES_FROM": "future",
        "REQUIRE_PARTS": ["day", "month"],
        "RELATIVE_BASE": datetime(today.year, today.month, today.day),
    }
    languages = list(dict.fromkeys((language, "en", "es")))
    try:
        found = dateparser.parse(text, languages=languages, settings=settings)
    except (ValueError, OverflowError):
        return None
    if found is None:
        return None
    if _YEAR.search(text):
        day = found.date()
        return DateRequest(day, day, in_past=day < today)
    return month_day(today, found.month, found.day, None)
