"""Slot ids: opaque, signed and self-describing.

An id carries tenant, provider, service, start and duration, signed with the clinic's own
key (HMAC-SHA256, truncated to 128 bits), so ValidateSlot can check one without looking
anything up and a forged or altered id is refused. A stale id (the service's duration
changed, the time passed or got booked) decodes but fails the schedule and rule checks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

PREFIX = "s1"
MAC_BYTES = 16


@dataclass(frozen=True)
class SlotRef:
    tenant_id: str
    provider_id: str
    service_id: str
    start: datetime  # UTC
    duration_minutes: int


class SlotIdError(ValueError):
    """The id is malformed, forged, or belongs to another clinic."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:MAC_BYTES]


def encode(ref: SlotRef, key: bytes) -> str:
    payload = "|".join(
        (ref.tenant_id, ref.provider_id, ref.service_id, str(int(ref.start.timestamp())), str(ref.duration_minutes))
    ).encode()
    return f"{PREFIX}.{_b64(payload)}.{_b64(_mac(key, payload))}"


def decode(slot_id: str, key: bytes, tenant_id: str) -> SlotRef:
    try:
        prefix, body, mac = slot_id.split(".")
        if prefix != PREFIX:
            raise SlotIdError("unknown slot id version")
        payload, given = _unb64(body), _unb64(mac)
    except (ValueError, binascii.Error):
        raise SlotIdError("malformed slot id") from None
    if not hmac.compare_digest(_mac(key, payload), given):
        raise SlotIdError("slot id signature does not match")
    try:
        tenant, provider, service, start, duration = payload.decode().split("|")
        ref = SlotRef(tenant, provider, service, datetime.fromtimestamp(int(start), UTC), int(duration))
    except (ValueError, UnicodeDecodeError):
        raise SlotIdError("malformed slot id") from None
    if ref.tenant_id != tenant_id:
        raise SlotIdError("slot id belongs to another clinic")
    return ref
