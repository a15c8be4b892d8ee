"""Everything the assistant says, in one place. Pure: no I/O.

`say(key, language, **values)` words a fixed sentence and `failure(cause, reason, tool, limit,
language)` words a service's refusal; both look the sentence up in one table per language
(`en.py`, `es.py`), so a new language or a reworded sentence touches one file. The same modules
say times, days and lists (their `GRAMMAR`): times in the clinic's local time, days relative to
the caller's today ("tomorrow", "Tuesday, December 1st"; "mañana", "el martes 1 de diciembre"),
at most a handful of options read out, never an id or ISO string. An unknown language: English.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from types import ModuleType

from gateway.speech import en, es
from gateway.speech.grammar import Grammar
from gateway.speech.offers import SpokenSlot as SpokenSlot
from gateway.speech.offers import choose

MAX_SPOKEN_OPTIONS = 5
DEFAULT_LANGUAGE = "en"
ordinal = en.ordinal  # English only: prompts and dates in English sentences


def grammar(language: str = DEFAULT_LANGUAGE) -> Grammar:
    """How `language` says times, days and lists (an unknown language: English)."""
    words: Grammar = _table(language).GRAMMAR
    return words


def time_phrase(local: datetime, language: str = DEFAULT_LANGUAGE) -> str:
    """'9 AM', '9:30 AM', '12 PM' (noon); 'a las nueve y media de la mañana', 'al mediodía'."""
    return grammar(language).time(local)


def day_phrase(day: date, today: date, language: str = DEFAULT_LANGUAGE) -> str:
    """'today', 'tomorrow', 'Tuesday, December 8th'; 'hoy', 'mañana', 'el martes 8 de diciembre'."""
    return grammar(language).day(day, today)


def moment_phrase(local: datetime, today: date, language: str = DEFAULT_LANGUAGE) -> str:
    """'tomorrow at 10 AM', 'Tuesday, September 1st at 10 AM'."""
    return grammar(language).moment(local, today)


def join_or(items: Sequence[str], word: str = "or", language: str = DEFAULT_LANGUAGE) -> str:
    """'a, b or c' (`word` "or" or "and", said in `language`)."""
    return grammar(language).join(items, word)


def phone_tail(phone: str, language: str = DEFAULT_LANGUAGE) -> str:
    """'the number ending in 4 2' — never the full number."""
    return grammar(language).phone_tail(phone)


def slot_options(slots: Sequence[SpokenSlot], today: date, language: str = DEFAULT_LANGUAGE) -> str:
    """'tomorrow at 9 AM, 9:30 AM or 2:15 PM with Doctor Lee' — grouped by day, then provider."""
    words = grammar(language)
    groups: list[tuple[date, str, list[str]]] = []
    for slot in slots[:MAX_SPOKEN_OPTIONS]:
        key = (slot.local.date(), slot.provider)
        if groups and (groups[-1][0], groups[-1][1]) == key:
            groups[-1][2].append(words.time(slot.local))
        else:
            groups.append((key[0], key[1], [words.time(slot.local)]))
    parts = []
    previous_day: date | None = None
    for day, provider, times in groups:
        spoken = words.join(times, "or")
        spoken = words.with_provider(spoken, provider) if provider else spoken
        parts.append(spoken if day == previous_day else words.at(words.day(day, today), spoken))
        previous_day = day
    return words.group_or.join(parts)


def options_sentence(slots: Sequence[SpokenSlot], today: date, language: str = DEFAULT_LANGUAGE) -> str:
    more = len(slots) - MAX_SPOKEN_OPTIONS
    sentence = say("offer", language, options=slot_options(slots, today, language))
    return f"{sentence} {say('more_options', language, count=more)}" if more > 0 else sentence


def offer_sentence(
    slots: Sequence[SpokenSlot], today: date, *, near: datetime | None = None, part_asked: bool = False,
    language: str = DEFAULT_LANGUAGE,
) -> str:  # fmt: skip
    """At most three times a caller can follow (gateway.speech.offers), or an example and a question.

    'I have tomorrow at 9 AM, 12 PM or 3:30 PM with Doctor Lee.'; a wide-open day: 'I have
    tomorrow at 9 AM with Doctor Lee and many more times that day. Would morning or afternoon
    suit you better?'"""
    choice = choose(slots, near=near, part_asked=part_asked)
    key = "wide_open" if choice.ask_part_of_day else "offer"
    return say(key, language, options=slot_options(choice.offers, today, language))


# --- sentences by key and by cause -------------------------------------------------------------
LANGUAGES: dict[str, ModuleType] = {"en": en, "es": es}


# What a caller or a model may say for a language, and what a clinic's locale starts with.
LANGUAGE_NAMES = {
    "en": "en", "english": "en", "inglés": "en", "ingles": "en",
    "es": "es", "spanish": "es", "español": "es", "espanol": "es", "castellano": "es",
}  # fmt: skip


def language_of(value: object, default: str = DEFAULT_LANGUAGE) -> str:
    """'es', 'es-US', 'es_MX', 'Spanish', 'Español' -> 'es'; empty or unknown -> `default`."""
    if not isinstance(value, str):
        return default
    text = value.strip().lower()
    code = LANGUAGE_NAMES.get(text) or LANGUAGE_NAMES.get(text.replace("_", "-").split("-", 1)[0], "")
    return code if code in LANGUAGES else default


def _table(language: str) -> ModuleType:
    return LANGUAGES.get(language, en)  # an unknown language still gets an answer


def say(key: str, language: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The fixed sentence `key`, its {placeholders} filled from `values`."""
    sentence: str = _table(language).SENTENCES[key]
    return sentence.format(**values) if values else sentence


def failure(cause: str, reason: str = "", tool: str = "", limit: int = 0, language: str = DEFAULT_LANGUAGE) -> str:
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
