"""Times of day inside a date phrase, taken out before the day is read. Pure: no I/O, no clock.

Meanings chosen:
- "at 3 pm", "3:30pm", "15:00", "at 3:30", "around 10": a time asked for; an hour from 1 to 7
  without AM/PM is the afternoon's (clinics are open at 3 pm, not 3 am), and so is any hour below
  12 said with "afternoon" or "evening" ("at 8 in the evening").
- "noon", "midday", "lunchtime", "around noon": 12 PM; "midnight": 12 AM.
- Clock words: "three", "half past three", "quarter past 10", "quarter to 4", "three thirty".
- "after 4", "after 4 pm", "later than 3", "not before 10", "from 2 pm on": times from then on;
  "before noon", "before 10", "earlier than 11", "not after 3": times before then; "between 2 and
  4", "from 2 to 4": both; "until 3": before. "after lunch" is from 1 PM, "before lunch" before 12 PM.
- Parts of the day: "morning", "in the afternoon", "this evening", "tonight" (today's evening),
  "first thing" (the morning), "early/late morning", "the morning of ...".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from services.availability.calendar_words import NUMBER_WORDS, PartOfDay, PhraseError

# The hours a caller says in words: "one" to "twelve" (not "a", "an" or "a couple").
HOUR_WORDS = {word: n for word, n in NUMBER_WORDS.items() if 1 <= n <= 12 and len(word) > 2 and " " not in word}
MINUTE_WORDS = {"o'clock": "", "oclock": "", "fifteen": ":15", "thirty": ":30", "forty five": ":45"}
LAST_AFTERNOON_HOUR = 7  # "at 3" is 3 PM; "at 8" is 8 AM
_HOUR = rf"(\d{{1,2}}|{'|'.join(HOUR_WORDS)})"
_LEADS = r"at|after|before|around|about|between|and|from|until|till|than"
_WORDS = "|".join(sorted(HOUR_WORDS, key=len, reverse=True))
_CLOCK_WORD = re.compile(rf"\b(?:{_WORDS}|half|quarter)\b")
_HALF_PAST = re.compile(rf"\bhalf\s+past\s+{_HOUR}\b")
_QUARTER_PAST = re.compile(rf"\b(?:a\s+)?quarter\s+past\s+{_HOUR}\b")
_QUARTER_TO = re.compile(rf"\b(?:a\s+)?quarter\s+(?:to|of)\s+{_HOUR}\b")
_LED_HOUR = re.compile(rf"\b({_LEADS})\s+({_WORDS})(?:\s+({'|'.join(MINUTE_WORDS)}))?(?=\s|$)")
_HOUR_AM_PM = re.compile(rf"\b({_WORDS})\s+(a\.?m\.?|p\.?m\.?)")
_NAMED = (("noon", 12), ("midday", 12), ("lunchtime", 12), ("lunch time", 12), ("lunch", 12), ("midnight", 0))
_NAMED_AT = tuple((re.compile(rf"(?:^|\s)(?:at\s+|around\s+|about\s+)?{word}(?=\s|$)"), hour) for word, hour in _NAMED)
_CLOCK = r"\d{1,2}(?::\d{2})?(?:\s*(?:a\.?m\.?|p\.?m\.?|o'?clock))?"
_BOUND_TIME = rf"(noon|midday|lunchtime|lunch|{_CLOCK})"
_BETWEEN = re.compile(rf"(?:^|\s)(?:between|from)\s+{_BOUND_TIME}\s+(?:and|to|until|till)\s+{_BOUND_TIME}(?=\s|$)")
_ANY_TIME = r"(?:^|\s)(?:any\s*time\s+|sometime\s+)?"
_AFTER_WORDS = r"(?:(?<!not\s)after|(?<!no\s)later\s+than|not\s+before|no\s+earlier\s+than)"
_BEFORE_WORDS = r"(?:(?<!not\s)before|until|till|(?<!no\s)earlier\s+than|not\s+after|no\s+later\s+than)"
# "from" only with "on" ("from 2 pm on"): "a week from 12 December" is a day, not a time
_AFTER = re.compile(rf"{_ANY_TIME}(?:{_AFTER_WORDS}\s+{_BOUND_TIME}|from\s+{_BOUND_TIME}\s+on(?:wards)?)(?=\s|$)")
_BEFORE = re.compile(rf"{_ANY_TIME}{_BEFORE_WORDS}\s+{_BOUND_TIME}(?=\s|$)")
_TIME = re.compile(
    r"(?:^|\s)(?:at\s+|around\s+|about\s+)?(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?|o'?clock)?(?=\s|$)"
)
_PARTS = (
    (re.compile(r"\bfirst\s+thing(?:\s+in\s+the\s+morning)?\b"), PartOfDay.MORNING),
    (re.compile(r"\b(?:(?:on\s+)?the\s+)?(?:early\s+|late\s+)?morning\s+of\b"), PartOfDay.MORNING),
    (re.compile(r"\b(?:(?:on\s+)?the\s+)?(?:early\s+|late\s+)?afternoon\s+of\b"), PartOfDay.AFTERNOON),
    (re.compile(r"\b(?:(?:on\s+)?the\s+)?(?:early\s+|late\s+)?evening\s+of\b"), PartOfDay.EVENING),
    (re.compile(r"\b(?:in\s+the\s+)?(?:early\s+|late\s+)?morning\b"), PartOfDay.MORNING),
    (re.compile(r"\b(?:in\s+the\s+)?(?:early\s+|late\s+)?afternoon\b"), PartOfDay.AFTERNOON),
    (re.compile(r"\b(?:in\s+the\s+)?(?:early\s+|late\s+)?evening\b"), PartOfDay.EVENING),
    (re.compile(r"\btonight\b"), PartOfDay.EVENING),
)


@dataclass(frozen=True)
class TimeWords:
    """What a phrase said about the time of day."""

    part: PartOfDay | None = None
    at: time | None = None
    after: time | None = None
    before: time | None = None


def _spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def spell_clock(text: str) -> str:
    """Clock words as digits: "half past three" → "3:30", "at three thirty" → "at 3:30"."""

    def hour(word: str) -> int:
        return int(word) if word.isdecimal() else HOUR_WORDS[word]

    if not _CLOCK_WORD.search(text):
        return text  # most phrases: nothing to spell
    text = _HALF_PAST.sub(lambda m: f"{hour(m.group(1))}:30", text)
    text = _QUARTER_PAST.sub(lambda m: f"{hour(m.group(1))}:15", text)
    text = _QUARTER_TO.sub(lambda m: f"{(hour(m.group(1)) - 2) % 12 + 1}:45", text)
    text = _LED_HOUR.sub(lambda m: f"{m.group(1)} {HOUR_WORDS[m.group(2)]}{MINUTE_WORDS[m.group(3) or 'oclock']}", text)
    return _HOUR_AM_PM.sub(lambda m: f"{HOUR_WORDS[m.group(1)]} {m.group(2)}", text)


def _clock(said: str, evening: bool) -> time:
    """A time said as "noon", "4", "4 pm", "4:30", "16:00" (bare hours 1-7 are the afternoon's)."""
    named = dict(_NAMED)
    if said in named:
        return time(named[said], 0)
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?|o'?clock)?", said)
    if not match:
        raise PhraseError(f"{said!r} is not a time")
    hour, minute, suffix = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if minute > 59:
        raise PhraseError("minutes must be below 60")
    if suffix and suffix.startswith(("a", "p")):
        if not 1 <= hour <= 12:
            raise PhraseError(f"{hour} is not an hour on a 12-hour clock")
        hour = hour % 12 + (12 if suffix.startswith("p") else 0)
    elif 1 <= hour <= LAST_AFTERNOON_HOUR or (evening and 1 <= hour < 12):
        hour += 12  # "at 3", "at 3:30": clinics are open at 3 pm, not 3 am
    if hour > 23:
        raise PhraseError(f"{hour} is not an hour of the day")
    return time(hour, minute)


def _take_bounds(text: str, evening: bool) -> tuple[str, time | None, time | None]:
    after = before = None
    match = _BETWEEN.search(text)
    if match:
        after, before = _clock(match.group(1), evening), _clock(match.group(2), evening)
        return _spaced(text[: match.start()] + " " + text[match.end() :]), after, before
    for pattern in (_AFTER, _BEFORE):
        match = pattern.search(text)
        if match:
            said = next(group for group in match.groups() if group)
            value = time(13, 0) if said == "lunch" and pattern is _AFTER else _clock(said, evening)
            after, before = (value, before) if pattern is _AFTER else (after, value)
            text = _spaced(text[: match.start()] + " " + text[match.end() :])
    return text, after, before


def _take_part_of_day(text: str) -> tuple[str, PartOfDay | None]:
    for pattern, part in _PARTS:
        if pattern.search(text):
            rest = pattern.sub(" ", text)
            if part is PartOfDay.EVENING and "tonight" in text:
                rest = rest + " today"
            return _spaced(rest), part
    return text, None


def _take_time(text: str, evening: bool) -> tuple[str, time | None]:
    """Pull a time of day ("at 3 pm", "15:30", "noon") out of the phrase."""
    for pattern, hour in _NAMED_AT:
        if pattern.search(text):
            return _spaced(pattern.sub(" ", text)), time(hour, 0)
    for match in _TIME.finditer(text):
        has_at = match.group(0).strip().split()[0] in ("at", "around", "about")
        if match.group(3) is None and match.group(2) is None and not has_at:
            continue  # a bare number is a day ("the 3rd" is handled elsewhere), not a time
        said = match.group(0).strip().removeprefix("at").removeprefix("around").removeprefix("about").strip()
        return _spaced(text[: match.start()] + " " + text[match.end() :]), _clock(said, evening)
    return text, None


def take_times(text: str) -> tuple[str, TimeWords]:
    """The phrase without its time words, and what they said."""
    text = spell_clock(text)
    text, part = _take_part_of_day(text)
    evening = part in (PartOfDay.AFTERNOON, PartOfDay.EVENING)
    text, after, before = _take_bounds(text, evening)
    text, at = _take_time(text, evening)
    return text, TimeWords(part, at, after, before)
