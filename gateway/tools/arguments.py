"""Reading the model's arguments: text made safe for protobuf, times, and which phone counts.
Pure: no I/O."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import Enum
from typing import Any

from common.phones import to_e164
from common.timestamps import to_timestamp

# Times a clinic could ever book; anything outside is a misheard or invented value, refused
# before it can overflow a conversion (issue 14: year 1 / 9999 raised OverflowError).
EARLIEST_YEAR = 1971
LATEST_YEAR = 2999
_DROPPED = {"Cs"}  # lone surrogates: protobuf refuses to encode them
_BLANKED = {"Cc"}  # control characters (line breaks, NUL): never part of a name or a time


def clean_text(text: str) -> str:
    """The text without lone surrogates, control characters turned into spaces, trimmed."""
    kept = (" " if unicodedata.category(c) in _BLANKED else c for c in text if unicodedata.category(c) not in _DROPPED)
    return "".join(kept).strip()


def text_arg(args: dict[str, Any], *names: str, limit: int = 200) -> str:
    """The first of `names` given as non-empty text (or a number), cleaned and cut to `limit`."""
    for name in names:
        value = args.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            text = clean_text(str(value))
            if text:
                return text[:limit]
    return ""


def parse_start(text: str, zone: tzinfo) -> datetime | None:
    """An ISO datetime as an aware UTC time; without an offset it is the clinic's local time.
    None when it is not a time or not one a clinic could book."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        value = value.astimezone(UTC)
        to_timestamp(value)  # the conversion the request makes later, so it cannot fail there
    except (ValueError, OverflowError):
        return None
    return value if EARLIEST_YEAR <= value.year <= LATEST_YEAR else None


class PhoneProblem(Enum):
    NONE = "none"
    INVALID = "invalid"  # a number was said but it is not one
    MISSING = "missing"  # neither the call nor the caller gave one


@dataclass(frozen=True)
class PhoneChoice:
    phone: str  # E.164, "" unless problem is NONE
    problem: PhoneProblem


def choose_phone(caller: str, spoken_text: str, region: str, *, spoken_wins: bool = False) -> PhoneChoice:
    """Which phone counts: a spoken number that is not a number is asked again; otherwise the
    caller id, unless there is none or `spoken_wins` (the clinic lets a spoken number receive
    codes) and a number was said."""
    spoken = to_e164(spoken_text, region) if spoken_text else None
    if spoken_text and spoken is None:
        return PhoneChoice("", PhoneProblem.INVALID)
    if spoken and (spoken_wins or not caller):
        return PhoneChoice(spoken, PhoneProblem.NONE)
    if caller:
        return PhoneChoice(caller, PhoneProblem.NONE)
    return PhoneChoice("", PhoneProblem.MISSING)
