"""Transactional outbox and its relay: one mechanism for every request a service must not lose
(reservation's texts to notification; notification's patients' replies to reservation).

A service records a request in its own `<schema>.outbox` table in the same transaction as the
change that causes it (`add`), so the request exists exactly when the change does. A relay
(common/relay.py) claims due rows with a lease, hands each to `deliver` (a gRPC call with a
dedupe key) and marks it delivered once acknowledged. A failed delivery is retried with
exponential backoff; a relay that dies mid-way leaves its claimed rows to come due again when
the lease ends, and the receiver's dedupe key makes the second delivery harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import asyncpg

from common.db import Connection
from common.relay import LeasedRelay, Pace, Queue
from common.timestamps import Clock, utc_now

log = logging.getLogger("common.outbox")

OUTBOX_PACE = Pace(lease=timedelta(seconds=30), batch=20, poll_seconds=1.0, base_backoff=1.0, max_backoff=300.0)


@dataclass(frozen=True)
class OutboxItem:
    tenant_id: str
    outbox_id: int
    dedupe_key: str
    topic: str
    payload: bytes
    attempts: int


Deliver = Callable[[OutboxItem], Awaitable[None]]


def outbox_queue(schema: str) -> Queue:
    return Queue(
        table=f"{schema}.outbox",
        key="outbox_id",
        due="delivered_at IS NULL AND available_at <= $1",
        returning="t.tenant_id, t.outbox_id, t.dedupe_key, t.topic, t.payload, t.attempts",
    )


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


class OutboxRelay(LeasedRelay[OutboxItem]):
    def __init__(
        self, pool: asyncpg.Pool, schema: str, deliver: Deliver, *, clock: Clock = utc_now, **pace: Any
    ) -> None:
        super().__init__(
            pool, outbox_queue(schema), OutboxItem, name="outbox", pace=replace(OUTBOX_PACE, **pace), clock=clock
        )
        self.table = self.queue.table
        self.deliver = deliver

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
            self.clock() + self.backoff(item.attempts),
            error[:500],
        )

    async def handle(self, items: list[OutboxItem]) -> int:
        """Deliver one claimed batch in order; return how many were delivered."""
        delivered = 0
        for item in items:
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
