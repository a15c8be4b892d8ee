"""Phone numbers: one place that turns what was given or said into E.164."""

from __future__ import annotations

import functools

import phonenumbers

# Parsing a number costs tens of microseconds and every tool call of a phone call parses the same
# caller id again: the pure lookups below remember their last answers (bounded; process memory only).
PARSED_NUMBERS = 4096


@functools.lru_cache(maxsize=PARSED_NUMBERS)
def to_e164(text: str, region: str | None = None) -> str | None:
    """E.164 for a valid number, else None. `region` reads numbers given without a country code."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# What a number's type says about texting it. Texted: mobiles, numbers that may be mobile (all of
# North America reads so), personal numbers that forward to a mobile, and VoIP numbers (many
# patients use one, and pumping fraud needs premium or international ranges, refused here or by
# region). Refused: types that cannot take a text or that bill the sender (premium, shared cost).
TEXTABLE_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
        phonenumbers.PhoneNumberType.VOIP,
    }
)


@functools.lru_cache(maxsize=PARSED_NUMBERS)
def region_of(e164: str) -> str:
    """The ISO 3166 region of an E.164 number ("" when unknown)."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or ""
    except phonenumbers.NumberParseException:
        return ""


@functools.lru_cache(maxsize=PARSED_NUMBERS)
def can_receive_sms(e164: str) -> bool:
    """Whether the number's type can receive a text (see TEXTABLE_TYPES)."""
    try:
        return phonenumbers.number_type(phonenumbers.parse(e164)) in TEXTABLE_TYPES
    except phonenumbers.NumberParseException:
        return False


SHOWN_DIGITS = 4  # what a masked number keeps at its end: enough to tell patients apart at a desk


def masked(phone: str) -> str:
    """A number as a credential without patient contact data sees it: country code and the last
    four digits ("+1******1234"), never more than half of the rest; "" stays ""."""
    if not phone:
        return ""
    digits = "".join(c for c in phone if c.isdigit())
    try:
        code = str(phonenumbers.parse(phone).country_code)
    except phonenumbers.NumberParseException:
        code = ""
    rest = digits[len(code) :] if code and digits.startswith(code) else digits
    shown = min(SHOWN_DIGITS, len(rest) // 2)
    return (f"+{code}" if code else "") + "*" * (len(rest) - shown) + rest[len(rest) - shown :]
