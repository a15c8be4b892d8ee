"""One-time codes, at least as strict as Twilio Verify. Pure: no I/O.

Six digits from `secrets`, stored only as a salted HMAC-SHA256, compared in constant time.
A code is valid 10 minutes and allows 5 checks; a phone may receive 5 codes per 10 minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

CODE_DIGITS = 6
VALIDITY = timedelta(minutes=10)
MAX_CHECKS = 5
SEND_WINDOW = timedelta(minutes=10)
MAX_SENDS_PER_WINDOW = 5
# How long a verified code lets this call book.
VERIFIED_FOR = timedelta(minutes=30)


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_salt() -> bytes:
    return secrets.token_bytes(16)


def digest(code: str, salt: bytes) -> bytes:
    return hmac.new(salt, code.encode(), hashlib.sha256).digest()


def matches(given: str, salt: bytes, stored: bytes) -> bool:
    """Constant-time comparison of a spoken code with the stored hash."""
    normalized = "".join(c for c in given if c.isdigit())
    return hmac.compare_digest(digest(normalized, salt), stored)
