"""Transactional outbox and its relay: one mechanism for every service that causes an SMS.

A service records a request in its own `<schema>.outbox` table in the same transaction as the
change that causes it (`add`), so the request exists exactly when the change does. A relay
claims due rows with `FOR UPDATE SKIP LOCKED` and a lease, hands each to `deliver` (a gRPC call
with a dedupe key) and marks it delivered once acknowledged. A failed delivery is retried with
exponential backoff; a relay that dies mid-way leaves its claimed rows to come due again when
the lease ends, and the receiver's dedupe key makes the second delivery harmless.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from common.db import Connection
from common.timestamps import Clock, utc_now

log = logging.getLogger("common.outbox")


@dataclass(frozen=True)
class OutboxItem:
    tenant_id: str
    outbox_id: int
    dedupe_key: str
    topic: str
    payload: bytes
    attempts: int


Deliver = Callable[[OutboxItem], Awaitable[None]]


def backoff(attempts: int, base: float, cap: float, jitter: float | None = None) -> timedelta:
    """Exponential backoff with jitter for the `attempts`-th failure (1-based): base, 2·base, 4·base…
    up to `cap` seconds, times a random factor in [0.5, 1) unless `jitter` is given."""
    factor = random.uniform(0.5, 1.0) if jitter is None else jitter
    return timedelta(seconds=min(cap, base * 2 ** (attempts - 1)) * factor)


async def add(conn: Connection, schema: str, tenant_id: str, dedupe_key: str, topic: str, payload: bytes) -> None:
    """Record a request inside the caller's transaction (a repeated dedupe key is one request)."""
    await conn.execute(
        f"INSERT INTO {schema}.outbox (tenant_id, dedupe_key, topic, payload) VALUES ($1, $2, $3, $4) "  # noqa: S608
        "ON CONFLICT (tenant_id, dedupe_key) DO NOTHING",
        tenant_id,
        dedupe_key,
        topic,
        payload,
    )


async def claim_batch(
    pool: asyncpg.Pool,
    table: str,
    key: str,
    due: str,
    returning: str,
    *,
    now: datetime,
    lease_until: datetime,
    batch: int,
    token: str,
) -> list[asyncpg.Record]:
    """Claim up to `batch` due rows of a queue table for one worker, until `lease_until`.

    `FOR UPDATE SKIP LOCKED` lets several workers claim at once without waiting on each other
    or taking the same row; the lease (`claimed_until`) keeps a row from being taken again
    while its worker is alive, and lets it come due again if the worker dies. `due` is a SQL
    condition that may use $1 (now). The claiming worker's `token` lands in `claimed_by`.
    """
    return await pool.fetch(
        f"""
        UPDATE {table} t SET claimed_until = $2, claimed_by = $4, attempts = t.attempts + 1
        FROM (
            SELECT tenant_id, {key} FROM {table}
            WHERE ({due}) AND (claimed_until IS NULL OR claimed_until <= $1)
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        ) due
        WHERE t.tenant_id = due.tenant_id AND t.{key} = due.{key}
        RETURNING {returning}
        """,  # noqa: S608 - identifiers are ours, values are parameters
        now,
        lease_until,
        batch,
        token,
    )


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        deliver: Deliver,
        *,
        lease: timedelta = timedelta(seconds=30),
        batch: int = 20,
        poll_seconds: float = 1.0,
        base_backoff: float = 1.0,
        max_backoff: float = 300.0,
        clock: Clock = utc_now,
    ) -> None:
        self.pool = pool
        self.table = f"{schema}.outbox"
        self.deliver = deliver
        self.lease = lease
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.clock = clock
        self.token = f"relay-{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was just committed: don't wait for the next poll."""
        self._wake.set()

    async def claim(self) -> list[OutboxItem]:
        now = self.clock()
        rows = await claim_batch(
            self.pool,
            self.table,
            "outbox_id",
            "delivered_at IS NULL AND available_at <= $1",
            "t.tenant_id, t.outbox_id, t.dedupe_key, t.topic, t.payload, t.attempts",
            now=now,
            lease_until=now + self.lease,
            batch=self.batch,
            token=self.token,
        )
        return [OutboxItem(**dict(row)) for row in rows]

    async def _delivered(self, item: OutboxItem) -> None:
        await self.pool.execute(
            f"UPDATE {self.table} SET delivered_at = $3, claimed_until = NULL, last_error = '' "  # noqa: S608
            "WHERE tenant_id = $1 AND outbox_id = $2",
            item.tenant_id,
            item.outbox_id,
            self.clock(),
        )

    async def _failed(self, item: OutboxItem, error: str) -> None:
        await self.pool.execute(
            f"UPDATE {self.table} SET available_at = $3, claimed_until = NULL, last_error = $4 "  # noqa: S608
            "WHERE tenant_id = $1 AND outbox_id = $2",
            item.tenant_id,
            item.outbox_id,
            self.clock() + backoff(item.attempts, self.base_backoff, self.max_backoff),
            error[:500],
        )

    async def run_once(self) -> int:
        """Claim and deliver one batch; return how many were delivered."""
        delivered = 0
        for item in await self.claim():
            try:
                await self.deliver(item)
            except Exception as error:  # any failure: retry later, the lease protects the row meanwhile
                log.warning(
                    "outbox delivery failed",
                    extra={"topic": item.topic, "attempt": item.attempts, "error": type(error).__name__},
                )
                await self._failed(item, f"{type(error).__name__}: {error}")
                continue
            await self._delivered(item)
            delivered += 1
        return delivered

    async def run(self) -> None:
        """Deliver until cancelled."""
        while True:
            try:
                delivered = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # database away: keep trying, the service reports NOT_SERVING meanwhile
                log.warning("outbox relay could not reach the database")
                delivered = 0
            if delivered >= self.batch:
                continue  # more may be waiting
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass
