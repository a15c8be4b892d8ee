"""The gateway's credential check without I/O: a fetch function stands in for availability."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

import pytest

from gateway.auth import CACHE_SIZE, TenantAuth, secret_matches, signature_matches

SECRET = "alpha-secret-0123456789"


class Directory:
    """Tenants and their secrets, counting look-ups."""

    def __init__(self) -> None:
        self.secrets: dict[str, list[str]] = {"alpha": [SECRET]}
        self.lookups = 0
        self.listings = 0

    async def __call__(self, tenant: str) -> list[str] | None:
        self.lookups += 1
        return self.secrets.get(tenant)

    async def names(self) -> frozenset[str]:
        self.listings += 1
        return frozenset(self.secrets)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_a_changed_secret_is_seen_at_once_and_the_old_one_within_a_second() -> None:
    directory, clock = Directory(), Clock()
    auth = TenantAuth(directory, directory.names, monotonic=clock)
    assert await auth.authenticate("alpha", bearer(SECRET), b"")
    directory.secrets["alpha"] = ["alpha-new-secret-0123456789"]
    assert await auth.authenticate("alpha", bearer("alpha-new-secret-0123456789"), b"")  # re-checked on mismatch
    clock.now += 1.01
    assert not await auth.authenticate("alpha", bearer(SECRET), b"")


async def test_wrong_secrets_do_not_turn_into_a_flood_of_lookups() -> None:
    directory, clock = Directory(), Clock()
    auth = TenantAuth(directory, directory.names, monotonic=clock)
    results = await asyncio.gather(*(auth.authenticate("alpha", bearer("wrong-wrong-wrong"), b"") for _ in range(200)))
    assert not any(results)
    assert directory.lookups <= 2  # the first look-up and one re-check


async def test_made_up_tenant_names_are_rate_limited_and_the_cache_is_bounded() -> None:
    directory, clock = Directory(), Clock()
    auth = TenantAuth(directory, directory.names, monotonic=clock)
    directory.secrets["beta"] = ["beta-secret-0123456789"]
    assert await auth.authenticate("alpha", bearer(SECRET), b"")
    lookups = directory.lookups
    for n in range(5 * CACHE_SIZE):
        assert not await auth.authenticate(f"made-up-{n}", bearer(SECRET), b"")
    assert directory.lookups == lookups  # made-up names never cost a look-up of their own
    assert directory.listings <= 2  # the list of tenants is re-read at most once a second
    assert len(auth._known) <= CACHE_SIZE
    assert await auth.authenticate("beta", bearer("beta-secret-0123456789"), b"")  # a real clinic, mid-flood
    clock.now += 2
    assert await auth.authenticate("alpha", bearer(SECRET), b"")


def test_signatures_use_the_secret_itself_and_any_valid_secret() -> None:
    stamp = str(int(time.time()))
    body = b'{"message": {}}'
    signature = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"x-signature": signature, "x-timestamp": stamp}
    assert signature_matches(headers, body, ["other-0123456789abcdef", SECRET], time.time())
    assert not signature_matches(headers, body + b" ", [SECRET], time.time())
    assert not signature_matches({**headers, "x-timestamp": "²" * 10}, body, [SECRET], time.time())
    assert not signature_matches({**headers, "x-signature": "é" * 64}, body, [SECRET], time.time())
    assert secret_matches(SECRET, ["x" * 20, SECRET]) and not secret_matches("", [SECRET])
    assert not secret_matches("\udcff" * 5, [SECRET])


async def test_a_tenant_list_that_could_not_be_read_is_read_again_at_once() -> None:
    directory, clock = Directory(), Clock()
    down = True

    async def names() -> frozenset[str]:
        if down:
            raise ConnectionError("availability is restarting")
        return frozenset(directory.secrets)

    auth = TenantAuth(directory, names, monotonic=clock)
    with pytest.raises(ConnectionError):  # an unreadable list must not look like an unknown tenant
        await auth.authenticate("alpha", bearer(SECRET), b"")
    down = False  # back within the same second: no wrong 401 from the failed read
    assert await auth.authenticate("alpha", bearer(SECRET), b"")
