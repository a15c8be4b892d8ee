"""Total input handling: whatever arrives over HTTP becomes a value or a clean refusal, never an
exception. Pure: no I/O.

JSON is decoded only when its nesting stays within MAX_DEPTH (the C decoder recurses, so deep
input would raise RecursionError) and every number is finite and of sane size; text that reaches
tools loses lone surrogates (protobuf cannot encode them) and control characters.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
MAX_NUMBER_CHARS = 40  # far beyond any real argument; Python refuses ints over 4300 digits anyway
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
# Lone surrogates and C0/C1 control characters except tab, newline and carriage return.
_UNSPEAKABLE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class BadJson(ValueError):
    """The bytes are not JSON we accept (answered with 400)."""


def nesting_depth(text: str) -> int:
    """Deepest bracket nesting outside strings, counted without recursion."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _number(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise BadJson("number too long")
        value = kind(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise BadJson("number out of range")
        return value

    return parse


def _no_constant(text: str) -> Any:
    raise BadJson(f"{text} is not JSON")


def decode(raw: bytes | str) -> Any:
    """JSON text -> value, or BadJson for anything not UTF-8, not JSON, too deep or non-finite."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if nesting_depth(text) > MAX_DEPTH:
            raise BadJson(f"JSON nested deeper than {MAX_DEPTH}")
        return json.loads(text, parse_int=_number(int), parse_float=_number(float), parse_constant=_no_constant)
    except BadJson:
        raise
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError too
        raise BadJson("body must be JSON") from error


def clean_text(text: str) -> str:
    """Drop what no caller said: lone surrogates and control characters."""
    return _UNSPEAKABLE.sub("", text)


def clean(value: Any) -> Any:
    """`clean_text` applied to every string (keys too) of a decoded JSON value.
    Recursion is bounded: decoded values are at most MAX_DEPTH deep."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def request_id(header: str) -> str | None:
    """A caller's request id if it is a plain token we can log and forward as gRPC metadata."""
    return header if _REQUEST_ID.fullmatch(header) else None
