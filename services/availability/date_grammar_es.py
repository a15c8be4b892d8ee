"""Spanish date phrases, rewritten into the phrases the date grammar reads. Pure: no I/O, no clock.

One grammar, two vocabularies: a Spanish phrase is unaccented ("mañana" = "manana", "miércoles"
= "miercoles"), its times and parts of the day, then its day words, are rewritten in order into
the grammar's own phrases, which then mean what they mean in English (see `phrases` and
`date_grammar`). So the rules are the same in both languages:
- "hoy", "mañana", "pasado mañana": today, tomorrow, the day after tomorrow.
- "el martes", "este viernes": the next one, today included (as "Tuesday", "this Friday").
- "el próximo martes", "el martes que viene", "el martes de la semana que viene": the Tuesday of
  next calendar week (as "next Tuesday"); "el martes después del próximo": a week later.
- "la semana que viene", "la próxima semana": next week; "esta semana", "este fin de semana".
- "a principios / mediados / finales de la semana que viene (del mes que viene, de mes)":
  early / middle / late next week (next month, this month), as in English.
- "el 15 de diciembre [de 2027]", "el quince de diciembre", "el día 15", "el 15", "15/12"
  (the day first), "el martes 4" (DATE_MISMATCH when the 4th is not a Tuesday).
- "dentro de una semana", "dentro de tres días", "en dos semanas": that many days from today;
  "dentro de ocho días" and "de hoy en ocho" are a week, "en quince días" two weeks (as said).
- "el primer lunes del mes que viene", "el último viernes de marzo", "el primero del mes que viene".
- Times: "a las tres y media" (3:30 PM: hours 1 to 7 are the afternoon's), "a las diez de la
  mañana", "a las ocho de la tarde", "a las cuatro menos cuarto", "a la una", "a mediodía",
  "después de las 4", "antes del mediodía", "entre las 2 y las 4", "de las 2 a las 4", "sobre las 10".
- Parts of the day: "por la mañana", "en la tarde", "por la noche", "esta tarde", "esta noche",
  "a primera hora" (the morning).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from services.availability.spanish_words import DAY_HALVES, MINUTES, MONTHS, NUMBERS, ORDINALS, WEEKDAYS

Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]
_HOUR_WORDS = {word: value for word, value in NUMBERS.items() if 1 <= value <= 12 and " " not in word}
_HOUR = rf"(\d{{1,2}}(?::\d{{2}})?|{'|'.join(sorted(_HOUR_WORDS, key=len, reverse=True))})"
_MINUTE_WORDS = "|".join(sorted(MINUTES, key=len, reverse=True))
_MINUTE = rf"(?:\s+y\s+({_MINUTE_WORDS}|\d{{1,2}})|\s+menos\s+({_MINUTE_WORDS}))?"
_HALF = rf"(?:\s+({'|'.join(DAY_HALVES)}))?"
_CLOCK = rf"las?\s+{_HOUR}{_MINUTE}{_HALF}"
_CLOCK_LEADS = {
    "a": "at",
    "sobre": "around",
    "hacia": "around",
    "alrededor de": "around",
    "como a": "around",
    "despues de": "after",
    "antes de": "before",
    "a partir de": "after",
    "desde": "after",
}
_WD = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_NEXT_WEEK = r"\b(?:la\s+)?(?:semana\s+que\s+viene|proxima\s+semana|semana\s+proxima|semana\s+siguiente)"
_NEXT_MONTH = r"\b(?:el\s+)?(?:mes\s+que\s+viene|proximo\s+mes|mes\s+proximo|mes\s+siguiente)"


def unaccented(text: str) -> str:
    text = re.sub(r"(?<=\d)(?:º|ª|o|ro|ero|er)\b", "", text)  # "1º", "1ro", "1er": the first
    decomposed = unicodedata.normalize("NFKD", text.replace("¿", " ").replace("¡", " "))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _clock(match: re.Match[str], first: int = 1) -> str:
    """ "las tres y media de la tarde" (groups from `first`) as "3:30 pm"."""
    said, plus, minus, half = (match.group(first + i) for i in range(4))
    hour_text, _, minute_text = said.partition(":")
    hour = int(hour_text) if hour_text.isdecimal() else _HOUR_WORDS[hour_text]
    minute = int(minute_text or 0)
    if plus:
        minute = MINUTES.get(plus) or int(plus)
    elif minus:
        hour, minute = (hour - 2) % 12 + 1, 60 - MINUTES[minus]
    suffix = DAY_HALVES[half] if half else ""
    return f"{hour}:{minute:02d}{' ' + suffix if suffix else ''}"


def _led_clock(match: re.Match[str]) -> str:
    lead = _CLOCK_LEADS[" ".join(match.group(1).split())]
    return f" {lead} {_clock(match, 2)} "


def _between(match: re.Match[str]) -> str:
    return f" between {_clock(match, 1)} and {_clock(match, 5)} "


def _words(table: dict[str, str] | dict[str, int]) -> re.Pattern[str]:
    return re.compile(rf"\b({'|'.join(sorted(table, key=len, reverse=True))})\b")


_LEADS = "|".join(lead.replace(" ", r"\s+") for lead in _CLOCK_LEADS)
_MEAL = r"(?:de\s+comer|del\s+almuerzo|de\s+la\s+comida)"
_TIMES: tuple[Rule, ...] = (
    (re.compile(rf"\bentre\s+{_CLOCK}\s+y\s+{_CLOCK}"), _between),
    (re.compile(rf"\bde\s+{_CLOCK}\s+a\s+{_CLOCK}"), _between),
    (re.compile(rf"\b({_LEADS})\s+{_CLOCK}"), _led_clock),
    (re.compile(r"\bantes\s+del\s+medio\s*dia\b"), " before noon "),
    (re.compile(r"\bdespues\s+del\s+medio\s*dia\b"), " after noon "),
    (re.compile(r"\b(?:a|al|sobre el|hacia el)?\s*medio\s*dia\b"), " noon "),
    (re.compile(rf"\ba\s+la\s+hora\s+{_MEAL}"), " lunchtime "),
    (re.compile(rf"\bantes\s+{_MEAL}"), " before lunch "),
    (re.compile(rf"\bdespues\s+{_MEAL}"), " after lunch "),
    (re.compile(r"\ba\s+primera\s+hora(?:\s+de\s+la\s+manana)?\b"), " first thing "),
    (re.compile(r"\besta\s+manana\b"), " this morning "),
    (re.compile(r"\besta\s+tarde\b"), " this afternoon "),
    (re.compile(r"\besta\s+noche\b"), " tonight "),
    (re.compile(r"\b(?:por|en|de)\s+la\s+manana\b"), " morning "),
    (re.compile(r"\b(?:por|en|de)\s+la\s+tarde\b"), " afternoon "),
    (re.compile(r"\b(?:por|en|de)\s+la\s+noche\b"), " evening "),
    (re.compile(r"\bdespues\b"), " after "),
)
_ASAP = r"\b(?:lo\s+antes\s+posible|cuanto\s+antes|lo\s+mas\s+pronto(?:\s+posible)?)\b"
_WEEKEND = r"\b(?:el\s+|este\s+)?fin\s+de\s+semana"
_AFTER_NEXT_WEEK = (
    r"\b(?:la\s+)?semana\s+(?:after\s+de\s+(?:la\s+)?(?:que\s+viene|proxima)|siguiente\s+a\s+la\s+proxima)\b"
)
_SPAN_OF = r"\s+(?:de|del)\s+(?=la\b|semana|el\b|mes|este|esta)"
_IN_N = r"\b(?:dentro\s+de|en)\s+(\d+)\s+(dia|dias|semana|semanas)\b"
_UNITS = {"dia": "day", "dias": "days", "semana": "week", "semanas": "weeks"}


def _in_n(match: re.Match[str]) -> str:
    return f" in {match.group(1)} {_UNITS[match.group(2)]} "


_DAYS: tuple[Rule, ...] = (
    (re.compile(r"\bpasado\s+manana\b"), " day after tomorrow "),
    (re.compile(r"\bmanana\b"), " tomorrow "),
    (re.compile(r"\bhoy\b"), " today "),
    (re.compile(_ASAP), " asap "),
    (re.compile(r"\b(?:de\s+)?(today|tomorrow)\s+en\s+(?:ocho|8)(?:\s+dias)?\b"), r" a week from \1 "),
    (re.compile(r"\bfinde\b"), "fin de semana"),
    (re.compile(r"\bdia\s+(?=\d)|\bpara\b"), " "),
    (_words(WEEKDAYS), lambda m: WEEKDAYS[m.group(1)]),
    (_words(MONTHS), lambda m: MONTHS[m.group(1)]),
    (re.compile(r"\b(?:dentro\s+de|en)\s+(?:ocho|8)\s+dias\b"), " in 1 week "),
    (re.compile(r"\b(?:dentro\s+de|en)\s+(?:quince|15)\s+dias\b"), " in 2 weeks "),
    (_words(NUMBERS), lambda m: str(NUMBERS[m.group(1)])),
    (_words(ORDINALS), lambda m: ORDINALS[m.group(1)]),
    (re.compile(rf"\b(?:el\s+)?({_WD})\s+after\s+del?\s+proximo\b"), r" \1 after next "),
    (re.compile(rf"\b(?:el\s+)?({_WD})\s+en\s+8\b"), r" a week from \1 "),
    (re.compile(_AFTER_NEXT_WEEK), " the week after next "),
    (re.compile(rf"{_WEEKEND}\s+after\s+del?\s+proximo\b"), " the weekend after next "),
    (
        re.compile(rf"{_WEEKEND}\s+(?:que\s+viene|proximo)\b|\b(?:el\s+)?proximo\s+fin\s+de\s+semana\b"),
        " next weekend ",
    ),
    (re.compile(rf"{_WEEKEND}\b"), " this weekend "),
    (re.compile(rf"\b(?:a\s+)?(?:principios|comienzos|inicios){_SPAN_OF}"), " early "),
    (re.compile(r"\b(?:a\s+)?mediados\s+(?:de|del)\s+"), " middle of "),
    (re.compile(rf"\b(?:a\s+)?(?:finales|final|fin){_SPAN_OF}"), " end of "),
    (re.compile(_NEXT_WEEK), " next week "),
    (re.compile(_NEXT_MONTH), " next month "),
    (re.compile(r"\b(?:esta\s+semana|la\s+semana)\b|(?<=of )semana\b|(?<=early )semana\b"), " this week "),
    (re.compile(r"\b(?:este\s+mes|el\s+mes|mes)\b"), " this month "),
    (re.compile(rf"\beste\s+proximo\s+({_WD})\b"), r" this coming \1 "),
    (re.compile(rf"\b(?:el\s+)?proximo\s+({_WD})\b|\b(?:el\s+)?({_WD})\s+(?:que\s+viene|proximo)\b"), r" next \1\2 "),
    (re.compile(rf"\beste\s+({_WD})\b"), r" this \1 "),
    (re.compile(_IN_N), _in_n),
    (re.compile(rf"\bde\s+(?=\d{{4}}\b)|\bdel?\s+(?=(?:{_WD})\b)"), " "),
    (re.compile(r"\b(?:de|del)\b"), " of "),
    (re.compile(rf"\b({_WD})\s+of\s+(next|this)\s+week\b"), r" \1 \2 week "),
    (re.compile(r"\bel\s+(?=\d|first\b)"), " the "),
    (re.compile(r"\b(?:el|la|los|las|y)\b"), " "),
)


def to_grammar(text: str) -> str:
    """A normalised Spanish phrase as the phrase the date grammar reads."""
    text = unaccented(text)
    for pattern, replacement in _TIMES + _DAYS:
        text = pattern.sub(replacement, text)
    return re.sub(r"\s+", " ", text).strip()
