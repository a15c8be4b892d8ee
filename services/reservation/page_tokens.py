"""ListAppointments page tokens: where the previous page ended, (start, id), bound to the filters it
was issued for. Opaque to clients; a token that does not decode, or that was issued for other
filters, is refused (INVALID_ARGUMENT naming page_token) rather than silently giving wrong pages.
It needs no secret: a tenant is filtered by the request, so a hand-made token can only move
within what the same request may list anyway."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from uuid import UUID


class BadToken(ValueError):
    """A page token that was not issued for these filters."""


def filters_digest(*parts: object) -> str:
    """A short fingerprint of the filters a token belongs to."""
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def encode(start: datetime, reservation_id: str, digest: str) -> str:
    body = json.dumps({"s": start.isoformat(), "i": reservation_id, "f": digest}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode(token: str, digest: str) -> tuple[datetime, str]:
    """(start, id) of the last appointment of the previous page."""
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        start, reservation_id, issued_for = datetime.fromisoformat(body["s"]), str(UUID(body["i"])), body["f"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as error:
        raise BadToken("not a token this service issued") from error
    if issued_for != digest or start.tzinfo is None:
        raise BadToken("issued for other filters; start again without it")
    return start, reservation_id
