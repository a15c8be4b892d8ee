"""Everything the assistant says, in one place. Pure: no I/O.

`say(key, **values)` words a fixed sentence and `failure(cause, reason, tool, limit)` words a
service's refusal; both look the sentence up in one table per language (`en.py`), so a new
language or a reworded sentence touches one file.

The phrases below are English: times in the clinic's local time, days relative to the caller's
today ("today", "tomorrow", "Tuesday, December 1st"), at most a handful of options read out,
never an id or ISO string.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from types import ModuleType

from gateway.speech import en
from gateway.speech.offers import SpokenSlot as SpokenSlot
from gateway.speech.offers import choose

MAX_SPOKEN_OPTIONS = 5


def ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def time_phrase(local: datetime) -> str:
    """'9 AM', '9:30 AM', '12 PM' (noon), '12 AM' (midnight)."""
    hour = local.hour % 12 or 12
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{hour}{minutes} {'AM' if local.hour < 12 else 'PM'}"


def day_phrase(day: date, today: date) -> str:
    if day == today:
        return "today"
    delta = (day - today).days
    if delta == 1:
        return "tomorrow"
    name = f"{day:%A}, {day:%B} {ordinal(day.day)}"
    return name if day.year == today.year or delta < 300 else f"{name}, {day.year}"


def moment_phrase(local: datetime, today: date) -> str:
    """'tomorrow at 10 AM', 'Tuesday, September 1st at 10 AM'."""
    return f"{day_phrase(local.date(), today)} at {time_phrase(local)}"


def join_or(items: Sequence[str], word: str = "or") -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def slot_options(slots: Sequence[SpokenSlot], today: date) -> str:
    """'tomorrow at 9 AM, 9:30 AM or 2:15 PM with Doctor Lee' — grouped by day, then provider."""
    shown = list(slots[:MAX_SPOKEN_OPTIONS])
    groups: list[tuple[date, str, list[str]]] = []
    for slot in shown:
        key = (slot.local.date(), slot.provider)
        if groups and (groups[-1][0], groups[-1][1]) == key:
            groups[-1][2].append(time_phrase(slot.local))
        else:
            groups.append((key[0], key[1], [time_phrase(slot.local)]))
    parts = []
    previous_day: date | None = None
    for day, provider, times in groups:
        with_provider = f" with {provider}" if provider else ""
        prefix = "" if day == previous_day else f"{day_phrase(day, today)} at "
        parts.append(f"{prefix}{join_or(times)}{with_provider}")
        previous_day = day
    return "; or ".join(parts)


def options_sentence(slots: Sequence[SpokenSlot], today: date) -> str:
    more = len(slots) - MAX_SPOKEN_OPTIONS
    tail = f" I have {more} more if none of those work." if more > 0 else ""
    return f"I have {slot_options(slots, today)}.{tail}"


def offer_sentence(
    slots: Sequence[SpokenSlot], today: date, *, near: datetime | None = None, part_asked: bool = False
) -> str:
    """At most three times a caller can follow (gateway.speech.offers), or an example and a question.

    'I have tomorrow at 9 AM, 12 PM or 3:30 PM with Doctor Lee.'; a wide-open day: 'I have
    tomorrow at 9 AM with Doctor Lee and many more times that day. Would morning or afternoon
    suit you better?'"""
    choice = choose(slots, near=near, part_asked=part_asked)
    if choice.ask_part_of_day:
        return say("wide_open", options=slot_options(choice.offers, today))
    return say("offer", options=slot_options(choice.offers, today))


def phone_tail(phone: str) -> str:
    """'the number ending in 4 2' — never the full number."""
    digits = [c for c in phone if c.isdigit()]
    return f"the number ending in {' '.join(digits[-2:])}" if len(digits) >= 2 else "your phone"


# --- sentences by key and by cause -------------------------------------------------------------
LANGUAGES: dict[str, ModuleType] = {"en": en}


def _table(language: str) -> ModuleType:
    return LANGUAGES.get(language, en)  # an unknown language still gets an answer


def say(key: str, language: str = "en", **values: object) -> str:
    """The fixed sentence `key`, its {placeholders} filled from `values`."""
    sentence: str = _table(language).SENTENCES[key]
    return sentence.format(**values) if values else sentence


def failure(cause: str, reason: str = "", tool: str = "", limit: int = 0, language: str = "en") -> str:
    """A service's refusal (cause name without prefix, snake_case reason) as a sentence.

    Most specific first: cause+reason+tool, cause+reason, cause+tool, cause; then the tool's own
    fallback, then a general one, so an unknown cause or reason is still worded sensibly."""
    table = _table(language)
    failures: dict[tuple[str, str, str], str] = table.FAILURES
    for key in ((cause, reason, tool), (cause, reason, ""), (cause, "", tool), (cause, "", "")):
        if key in failures:
            return failures[key].format(limit=limit)
    fallbacks: dict[str, str] = table.TOOL_FALLBACKS
    return fallbacks.get(tool) or say("failed", language)
