"""Everything the assistant says, in one place. Pure: no I/O.

`say(key, **values)` words a fixed sentence and `failure(cause, reason, tool, limit)` words a
service's refusal; both look the sentence up in one table per language (`en.py`), so a new
language or a reworded sentence touches one file. The phrase helpers (times, days, lists) are
English today and keep their original names here.
"""

from __future__ import annotations

from types import ModuleType

from gateway.speech import en
from gateway.speech.phrases import (
    MAX_SPOKEN_OPTIONS,
    SpokenSlot,
    day_phrase,
    join_or,
    moment_phrase,
    options_sentence,
    ordinal,
    phone_tail,
    slot_options,
    time_phrase,
)

__all__ = [
    "LANGUAGES",
    "MAX_SPOKEN_OPTIONS",
    "SpokenSlot",
    "day_phrase",
    "failure",
    "join_or",
    "moment_phrase",
    "options_sentence",
    "ordinal",
    "phone_tail",
    "say",
    "slot_options",
    "time_phrase",
]

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
