"""Per-tenant authentication of Vapi requests.

A tenant's secret is stored only as its SHA-256 (by availability, with the clinic). Accepted:
`Authorization: Bearer <secret>` or `X-Vapi-Secret: <secret>`, or an HMAC-SHA256 signature
`x-signature` over `{x-timestamp}.{raw body}` within ±5 minutes. The HMAC key is the secret's
SHA-256 hex digest (`printf %s "$SECRET" | sha256sum`; set that as the HMAC secret of Vapi's
credential), so the secret itself never has to be stored anywhere. All comparisons are constant-time; the
tenant comes from the URL and the credential must belong to it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import time
from collections.abc import Awaitable, Callable, Mapping

HMAC_WINDOW_SECONDS = 300
CACHE_SECONDS = 30.0
MISSING_CACHE_SECONDS = 5.0
SIGNATURE = re.compile(r"[0-9a-f]{64}")
TIMESTAMP = re.compile(r"[0-9]{1,16}")  # seconds or milliseconds

Lookup = Callable[[str], Awaitable[str | None]]  # tenant -> secret sha256 hex, None if unknown


def sha256_hex(value: str | bytes) -> str:
    # Header text may hold surrogate escapes of non-UTF-8 bytes: hash them, never raise.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value).hexdigest()


def presented_secret(headers: Mapping[str, str]) -> str:
    authorization = headers.get("Authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return headers.get("X-Vapi-Secret", "").strip()


def check_secret(presented: str, stored_sha256: str) -> bool:
    return bool(presented) and hmac.compare_digest(sha256_hex(presented), stored_sha256)


def check_hmac(headers: Mapping[str, str], body: bytes, stored_sha256: str, now: float) -> bool:
    signature = headers.get("x-signature", "").strip().lower().removeprefix("sha256=")
    stamp = headers.get("x-timestamp", "").strip()
    # Only plain ASCII: "²".isdigit() is true, and compare_digest refuses non-ASCII text.
    if not SIGNATURE.fullmatch(signature) or not TIMESTAMP.fullmatch(stamp):
        return False
    seconds = int(stamp) / 1000 if len(stamp) >= 13 else int(stamp)  # milliseconds or seconds
    if abs(now - seconds) > HMAC_WINDOW_SECONDS:
        return False
    expected = hmac.new(stored_sha256.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class TenantAuth:
    """Checks credentials against each tenant's stored hash, cached briefly per tenant."""

    def __init__(self, lookup: Lookup, clock: Callable[[], float] = time.time) -> None:
        self.lookup = lookup
        self.clock = clock
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def stored_hash(self, tenant: str) -> str | None:
        cached = self._cache.get(tenant)
        now = time.monotonic()
        if cached is not None and now - cached[0] < (CACHE_SECONDS if cached[1] else MISSING_CACHE_SECONDS):
            return cached[1]
        async with self._locks.setdefault(tenant, asyncio.Lock()):
            cached = self._cache.get(tenant)
            if cached is not None and time.monotonic() - cached[0] < MISSING_CACHE_SECONDS:
                return cached[1]
            try:
                digest = await self.lookup(tenant)
            except Exception:
                # Availability unreachable: a hash we already know is still good for a while.
                if cached is not None and cached[1]:
                    return cached[1]
                raise
            self._cache[tenant] = (time.monotonic(), digest)
            return digest

    async def authenticate(self, tenant: str, headers: Mapping[str, str], body: bytes) -> bool:
        stored = await self.stored_hash(tenant)
        if not stored:
            return False
        presented = presented_secret(headers)
        if presented:
            return check_secret(presented, stored)
        return check_hmac(headers, body, stored, self.clock())
