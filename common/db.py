"""asyncpg connection pool."""

from __future__ import annotations

import asyncpg
from asyncpg.pool import PoolConnectionProxy


async def _session_kept(_connection: asyncpg.Connection) -> None:
    """Nothing to undo when a connection goes back to the pool: our code keeps no session state
    on pooled connections (locks and settings are transaction-scoped, the one LISTEN connection
    unlistens before its release), so the default reset query (unlock all, close all, unlisten,
    reset all) would be one more round trip per use for nothing. asyncpg still rolls back a
    transaction left open and drops listeners."""


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    # UTC sessions: every timestamp we read or write is UTC; local time is for speech only.
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"timezone": "UTC", "application_name": "voice-booking"},
        command_timeout=10,
        reset=_session_kept,
    )
    assert pool is not None
    return pool


# What `pool.acquire()` yields; repository helpers accept either.
Connection = asyncpg.Connection | PoolConnectionProxy
