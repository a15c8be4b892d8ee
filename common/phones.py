"""Phone numbers: one place that turns what was given or said into E.164."""

from __future__ import annotations

import phonenumbers


def to_e164(text: str, region: str | None = None) -> str | None:
    """E.164 for a valid number, else None. `region` reads numbers given without a country code."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
