"""Which language a date phrase is read in, and which way a numeric date is read. Pure.

A clinic's `locale` is a BCP 47 tag of a language we speak and an optional region ("en-US",
"es-US", "es-MX", "es-419", "en-GB"); unset means "en-US". A request may name its own language
("en", "es"; a tag such as "es-MX" counts as "es"), else the clinic's locale's language is used.

Numeric dates ("1/9") follow the clinic's convention: month first in English in the US (or with
no region), day first in Spanish and in every other region.
"""

from __future__ import annotations

import re

DEFAULT_LOCALE = "en-US"
LANGUAGES = ("en", "es")
MONTH_FIRST_REGIONS = ("US", "")
_TAG = re.compile(r"^([A-Za-z]{2})(?:[-_]([A-Za-z]{2}|\d{3}))?$")


def canonical_locale(tag: str) -> str | None:
    """The tag as stored ("es-us" → "es-US"), or None when it is not en-*/es-* with a region."""
    match = _TAG.match(tag.strip())
    if not match or match.group(1).lower() not in LANGUAGES:
        return None
    language, region = match.group(1).lower(), (match.group(2) or "").upper()
    return f"{language}-{region}" if region else language


def locale_problem(tag: str) -> str | None:
    """Why a clinic's locale is refused, or None (empty = the default)."""
    if not tag or canonical_locale(tag) is not None:
        return None
    return f"{tag!r} is not a supported locale (en-* or es-*, such as en-US or es-US)"


def language_of(tag: str) -> str | None:
    """ "en" or "es" for a request's language or a locale; None when it is neither."""
    canonical = canonical_locale(tag)
    return canonical.split("-")[0] if canonical else None


def region_of(locale: str) -> str:
    canonical = canonical_locale(locale) or DEFAULT_LOCALE
    return canonical.partition("-")[2]


def day_first(locale: str, language: str) -> bool:
    """Whether "1/9" is the 1st of September (True) or January 9th (False) for this clinic."""
    return language != "en" or region_of(locale) not in MONTH_FIRST_REGIONS
