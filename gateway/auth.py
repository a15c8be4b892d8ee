"""Per-tenant authentication of Vapi requests.

Accepted: `Authorization: Bearer <secret>` or `X-Vapi-Secret: <secret>`, or an HMAC-SHA256
signature `x-signature` (hex, optionally `sha256=`-prefixed) over `{x-timestamp}.{raw body}`
keyed with the secret, within ±5 minutes. A tenant may have two valid secrets while one is
rotated out. Secrets reach the gateway sealed (common/sealing.py) and are opened here with the
key-encryption key; nothing stored in the database or returned by an RPC is enough to pass.
All comparisons are constant-time; the tenant comes from the URL and the credential must belong
to it. Header values are read without ever raising: anything malformed simply fails to match.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from common.lru import TtlLru

HMAC_WINDOW_SECONDS = 300
CACHE_SECONDS = 1.0  # a changed or rotated-out secret is seen within a second
RECHECK_SECONDS = 0.2  # a mismatch looks again (a secret may just have changed), this often at most
STALE_SECONDS = 60.0  # availability unreachable: the secrets we knew keep working this long
CACHE_SIZE = 2048  # tenants whose credentials are kept in memory
NAMES_REFRESH_SECONDS = 1.0  # a name not in the list of tenants re-reads the list this often at most

Fetch = Callable[[str], Awaitable[list[str] | None]]  # tenant -> its valid secrets, None if unknown
Names = Callable[[], Awaitable[frozenset[str]]]  # every tenant that exists


def _bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def presented_secret(headers: Mapping[str, str]) -> str:
    authorization = headers.get("Authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return headers.get("X-Vapi-Secret", "").strip()


def signed_at(stamp: str) -> float | None:
    """Seconds since the epoch from `x-timestamp` (seconds or milliseconds), None if unreadable."""
    if not (stamp.isascii() and stamp.isdigit() and 9 <= len(stamp) <= 13):
        return None
    return int(stamp) / 1000 if len(stamp) == 13 else float(int(stamp))


def secret_matches(presented: str, secrets: Sequence[str]) -> bool:
    if not presented:
        return False
    given = _bytes(presented)
    # Every candidate is compared (no early exit), so timing does not tell which one matched.
    return sum(hmac.compare_digest(given, _bytes(s)) for s in secrets) > 0


def signature_matches(headers: Mapping[str, str], body: bytes, secrets: Sequence[str], now: float) -> bool:
    signature = headers.get("x-signature", "").strip().lower().removeprefix("sha256=")
    stamp = headers.get("x-timestamp", "").strip()
    seconds = signed_at(stamp)
    if not signature or seconds is None or abs(now - seconds) > HMAC_WINDOW_SECONDS:
        return False
    given = _bytes(signature)
    message = stamp.encode() + b"." + body
    expected = [hmac.new(_bytes(s), message, hashlib.sha256).hexdigest().encode() for s in secrets]
    return sum(hmac.compare_digest(given, e) for e in expected) > 0


class TenantNames:
    """Which tenants exist, re-read at most once per NAMES_REFRESH_SECONDS when asked about a name
    not in it: made-up names (no credential needed to send them) cost nothing per name and never
    crowd out a real clinic, and a new clinic is known within a second."""

    def __init__(self, names: Names, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.names = names
        self.monotonic = monotonic
        self._known: frozenset[str] = frozenset()
        self._read_at = -NAMES_REFRESH_SECONDS
        self._failed = False
        self._lock = asyncio.Lock()

    async def exists(self, tenant: str) -> bool:
        """Raises when the list cannot be read (the caller answers "unavailable", never a wrong 401)."""
        if tenant in self._known:
            return True
        async with self._lock:  # one read for everyone waiting
            if self._failed or self.monotonic() - self._read_at >= NAMES_REFRESH_SECONDS:
                self._read_at = self.monotonic()
                self._failed = True
                self._known = await self.names()
                self._failed = False
        return tenant in self._known


@dataclass
class _Known:
    secrets: list[str] | None  # None: no such tenant
    fetched: float


class TenantAuth:
    """Checks credentials against each tenant's current secrets, kept briefly and boundedly."""

    def __init__(
        self, fetch: Fetch, names: Names, clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.fetch = fetch
        self.tenants = TenantNames(names, monotonic)
        self.clock = clock
        self.monotonic = monotonic
        self._known: TtlLru[str, _Known] = TtlLru(CACHE_SIZE, STALE_SECONDS, monotonic)
        self._locks: TtlLru[str, asyncio.Lock] = TtlLru(CACHE_SIZE, 60.0, monotonic)
        self._rechecked: TtlLru[str, bool] = TtlLru(CACHE_SIZE, RECHECK_SECONDS, monotonic)

    async def secrets(self, tenant: str, max_age: float = CACHE_SECONDS) -> list[str] | None:
        known = self._known.get(tenant)
        if known is not None and self.monotonic() - known.fetched < max_age:
            return known.secrets
        if (known is None or known.secrets is None) and not await self.tenants.exists(tenant):
            return None  # no such tenant: refused without a look-up of its own
        async with self._locks.get_or_put(tenant, asyncio.Lock):
            known = self._known.get(tenant)
            if known is not None and self.monotonic() - known.fetched < max_age:
                return known.secrets  # someone else looked while we waited
            try:
                found = await self.fetch(tenant)
            except Exception:
                if known is not None and known.secrets:
                    return known.secrets  # availability unreachable: what we knew is still good a while
                raise
            self._known.put(tenant, _Known(found, self.monotonic()))
            return found

    def _matches(self, secrets: list[str], headers: Mapping[str, str], body: bytes) -> bool:
        presented = presented_secret(headers)
        if presented:
            return secret_matches(presented, secrets)
        return signature_matches(headers, body, secrets, self.clock())

    async def authenticate(self, tenant: str, headers: Mapping[str, str], body: bytes) -> bool:
        secrets = await self.secrets(tenant)
        if secrets and self._matches(secrets, headers, body):
            return True
        if secrets is None:
            return False
        # A mismatch may be a secret changed a moment ago: look again, at most once per
        # RECHECK_SECONDS per tenant (wrong secrets must not turn into a flood of look-ups).
        if self._rechecked.get(tenant):
            return False
        self._rechecked.put(tenant, True)
        fresh = await self.secrets(tenant, max_age=0.0)
        return fresh is not secrets and bool(fresh) and self._matches(fresh or [], headers, body)
