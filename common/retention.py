"""Retention: patient data is not kept forever. One purge for both services that keep it.

Each service lists its sweeps (services/<svc>/retention.py: SQL only): a statement that removes
or empties at most `$2` rows older than `$1` and says how many, the matching count for a dry run,
and the window in days. A `Purger` runs them in order, in bounded batches (each its own short
statement, rows taken with `FOR UPDATE SKIP LOCKED`, so it never holds long locks nor waits on
a row someone is using), while holding a session advisory lock, so one replica purges at a time.
The same `Purger` runs in the background of each service (`run`) and as the command
`python -m services.<svc> purge [--days N] [--dry-run]` (`command`).

Exit codes of the command: 0 done (also when nothing was old enough), 1 another replica is
purging right now (run it again later), 2 bad usage or configuration, 3 the database could not be
reached or a statement failed (what was purged before stays purged; running again continues).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NoReturn

import asyncpg

from common.config import ConfigError, RetentionConfig, env_database_url
from common.db import Connection, create_pool
from common.db_errors import DATABASE_ERRORS, describe
from common.exits import fail
from common.relay import random_jitter
from common.timestamps import Clock, utc_now

log = logging.getLogger("common.retention")

BATCH = 500
# Between batches: lets the service's own queries in between a long purge.
PAUSE_SECONDS = 0.05
INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True)
class Sweep:
    """One kind of expired row. `purge` handles at most $2 rows older than the cutoff $1 and
    returns one row of counts named after the tables it changed, the first one counting the rows
    of the batch; `count` returns the same columns for everything older than $1 (the dry run)."""

    purge: str
    count: str
    days: int

    def within(self, days: int) -> Sweep:
        return replace(self, days=days)


def batched_delete(label: str, table: str, key: str, expired: str) -> Sweep:
    """The usual sweep: delete rows of `table` (identified by the `key` columns) matching the SQL
    condition `expired` ($1 is the cutoff), counted under `label`."""
    return Sweep(
        purge=f"""
            WITH gone AS (
                DELETE FROM {table} WHERE ({key}) IN (
                    SELECT {key} FROM {table} WHERE {expired} LIMIT $2 FOR UPDATE SKIP LOCKED)
                RETURNING 1)
            SELECT count(*) AS {label} FROM gone
        """,  # noqa: S608 - identifiers and conditions are ours, values are parameters
        count=f"SELECT count(*) AS {label} FROM {table} WHERE {expired}",  # noqa: S608
        days=0,
    )


Sweeps = Callable[[RetentionConfig], list[Sweep]]
Removed = dict[str, int]


def _add(total: Removed, row: asyncpg.Record) -> int:
    for name, value in row.items():
        total[name] = total.get(name, 0) + int(value)
    return int(row[0])


class Purger:
    """Purges one service's expired rows; `name` keys the advisory lock its replicas share."""

    def __init__(
        self, pool: asyncpg.Pool, name: str, sweeps: list[Sweep], *, clock: Clock = utc_now,
        batch: int = BATCH, pause: float = PAUSE_SECONDS, interval: float = INTERVAL_SECONDS,
    ) -> None:  # fmt: skip
        self.pool = pool
        self.lock_name = f"retention:{name}"
        self.sweeps = sweeps
        self.clock = clock
        self.batch = batch
        self.pause = pause
        self.interval = interval

    async def purge(self, now: datetime) -> Removed | None:
        """Remove what is older than each window at `now`; None when another replica holds the lock."""
        async with self.pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", self.lock_name):
                return None
            try:
                return await self._purge_locked(conn, now)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", self.lock_name)

    async def _purge_locked(self, conn: Connection, now: datetime) -> Removed:
        removed: Removed = {}
        for sweep in self.sweeps:
            cutoff = now - timedelta(days=sweep.days)
            while True:
                row = await conn.fetchrow(sweep.purge, cutoff, self.batch)
                assert row is not None
                if _add(removed, row) < self.batch:
                    break
                await asyncio.sleep(self.pause)
        return removed

    async def count(self, now: datetime) -> Removed:
        """What `purge(now)` would remove, changing nothing."""
        counted: Removed = {}
        for sweep in self.sweeps:
            row = await self.pool.fetchrow(sweep.count, now - timedelta(days=sweep.days))
            assert row is not None
            _add(counted, row)
        return counted

    async def run(self) -> None:
        """Purge about every `interval` seconds (jittered, so replicas started together spread out)."""
        while True:
            await asyncio.sleep(self.interval * random_jitter())
            try:
                removed = await self.purge(self.clock())
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                log.warning("retention purge failed", extra={"error": type(error).__name__})
                continue
            if removed and any(removed.values()):
                log.info("retention purge", extra={"removed": removed})


# --- the command ------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage block: the exit code and this line are the whole answer.
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)


def _days(value: str) -> int:
    days = int(value)
    if days < 1:
        raise ValueError(value)
    return days


def parser(program: str) -> argparse.ArgumentParser:
    root = _Parser(prog=f"python -m services.{program} purge", description="Remove expired patient data now.")
    root.add_argument(
        "--days", type=_days, help="one window of N days (at least 1) for every table instead of the configured ones"
    )
    root.add_argument("--dry-run", action="store_true", help="only count what would be removed")
    return root


def report(removed: Removed, dry_run: bool) -> list[str]:
    """One line per table, e.g. `idempotency_keys: removed 12`."""
    verb = "would remove" if dry_run else "removed"
    return [f"{table}: {verb} {count}" for table, count in removed.items()]


async def _purge(program: str, dsn: str, sweeps: list[Sweep], dry_run: bool) -> Removed | None:
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        purger = Purger(pool, program, sweeps)
        now = utc_now()
        return await (purger.count(now) if dry_run else purger.purge(now))
    finally:
        await pool.close()


def command(program: str, argv: list[str], sweeps: Sweeps, env: Mapping[str, str] | None = None) -> int:
    """`python -m services.<program> purge …`; returns the exit code."""
    args = parser(program).parse_args(argv)
    environ = os.environ if env is None else env
    try:
        dsn = env_database_url(environ)
        retention = RetentionConfig.everything(args.days) if args.days else RetentionConfig.from_env(environ)
    except ConfigError as error:
        print(f"{program} purge: configuration error: {error}", file=sys.stderr)
        return 2
    chosen = sweeps(retention)
    try:
        removed = asyncio.run(_purge(program, dsn, chosen, args.dry_run))
    except DATABASE_ERRORS as error:
        return fail(f"{program} purge", describe(dsn, error), 3)
    if removed is None:
        return fail(f"{program} purge", "another replica is purging now; run it again later", 1)
    for line in report(removed, args.dry_run):
        print(line)
    return 0
