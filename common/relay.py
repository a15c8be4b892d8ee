"""One relay loop for every queue table: claim due rows with a lease, handle them, repeat.

`FOR UPDATE SKIP LOCKED` lets several workers, in one process or many, claim at once without
waiting on each other or taking the same row; the lease (`claimed_until`) keeps a row from being
taken again while its worker is alive and lets it come due again if the worker dies. A relay
handles what it claimed (`handle`), polls every `poll_seconds`, and can be woken at once
(`wake`) after a commit that queued something. Its users: the outboxes (common/outbox.py:
reservation's texts, notification's patients' replies), the SMS queue (services/notification/relay.py)
and the waitlist's freed times (services/reservation/waitlist_offers.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

import asyncpg

from common.timestamps import Clock, utc_now

log = logging.getLogger("common.relay")

ItemT = TypeVar("ItemT")


@dataclass(frozen=True)
class Queue:
    """A queue table: its key column, the SQL condition for a due row ($1 is now), and the
    columns a claim returns (named as the item's fields, prefixed `t.`)."""

    table: str
    key: str
    due: str
    returning: str


@dataclass(frozen=True)
class Pace:
    """How a relay claims and retries."""

    lease: timedelta
    batch: int
    poll_seconds: float
    base_backoff: float
    max_backoff: float


def random_jitter() -> float:
    return random.uniform(0.5, 1.0)


def backoff(attempts: int, base: float, cap: float, jitter: float | None = None) -> timedelta:
    """Exponential backoff with jitter for the `attempts`-th failure (1-based): base, 2·base, 4·base…
    up to `cap` seconds, times a random factor in [0.5, 1) unless `jitter` is given."""
    factor = random_jitter() if jitter is None else jitter
    return timedelta(seconds=min(cap, base * 2 ** (attempts - 1)) * factor)


async def claim_batch(
    pool: asyncpg.Pool, queue: Queue, *, now: datetime, lease_until: datetime, batch: int, token: str
) -> list[asyncpg.Record]:
    """Claim up to `batch` due rows of `queue` for one worker (its `token` lands in `claimed_by`)."""
    return await pool.fetch(
        f"""
        UPDATE {queue.table} t SET claimed_until = $2, claimed_by = $4, attempts = t.attempts + 1
        FROM (
            SELECT tenant_id, {queue.key} FROM {queue.table}
            WHERE ({queue.due}) AND (claimed_until IS NULL OR claimed_until <= $1)
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        ) due
        WHERE t.tenant_id = due.tenant_id AND t.{queue.key} = due.{queue.key}
        RETURNING {queue.returning}
        """,  # noqa: S608 - identifiers are ours, values are parameters
        now,
        lease_until,
        batch,
        token,
    )


class LeasedRelay(ABC, Generic[ItemT]):
    """Claims due rows of one queue as `item`s and hands them to `handle` until cancelled."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        queue: Queue,
        item: Callable[..., ItemT],
        *,
        name: str,
        pace: Pace,
        clock: Clock = utc_now,
        jitter: Callable[[], float] = random_jitter,
    ) -> None:
        self.pool = pool
        self.queue = queue
        self.item = item
        self.name = name
        self.lease = pace.lease
        self.batch = pace.batch
        self.poll_seconds = pace.poll_seconds
        self.base_backoff = pace.base_backoff
        self.max_backoff = pace.max_backoff
        self.clock = clock
        self.jitter = jitter
        self.token = f"{name}-{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was just committed: don't wait for the next poll."""
        self._wake.set()

    def backoff(self, attempts: int) -> timedelta:
        return backoff(attempts, self.base_backoff, self.max_backoff, self.jitter())

    async def claim(self) -> list[ItemT]:
        now = self.clock()
        rows = await claim_batch(
            self.pool, self.queue, now=now, lease_until=now + self.lease, batch=self.batch, token=self.token
        )
        return [self.item(**dict(row)) for row in rows]

    @abstractmethod
    async def handle(self, items: list[ItemT]) -> int:
        """Work through one claimed batch; return how many count as done (a full batch claims again at once)."""

    async def run_once(self) -> int:
        return await self.handle(await self.claim())

    async def run(self) -> None:
        """Work until cancelled."""
        while True:
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # database away: keep trying, the service reports NOT_SERVING meanwhile
                log.warning("%s relay could not reach the database", self.name)
                done = 0
            if done >= self.batch:
                continue  # more may be waiting
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass
