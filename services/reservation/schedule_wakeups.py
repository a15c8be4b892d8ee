"""Wake-ups for WatchSchedule: one LISTEN connection per process, held only while someone watches,
wakes the watchers of a tenant when a transaction that changed its schedule commits (the history
trigger NOTIFYs at commit, migrations/0010). A wake-up carries no data: watchers read the feed
table, so a lost notification only delays a change until the watcher's next poll."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

log = logging.getLogger("services.reservation")
CHANNEL = "reservation_schedule"


class Wakeups:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._listener: asyncpg.pool.PoolConnectionProxy | None = None
        self._lock = asyncio.Lock()
        self.closed = False

    def close(self) -> None:
        """The server is stopping: wake every watcher, which then ends its stream (no new ones)."""
        self.closed = True
        for events in self._waiting.values():
            for event in events:
                event.set()

    @asynccontextmanager
    async def watching(self, tenant_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set whenever the tenant's schedule may have changed (clear it before reading)."""
        event = asyncio.Event()
        async with self._lock:
            if self._listener is None:
                await self._listen()
            self._waiting.setdefault(tenant_id, set()).add(event)
        try:
            yield event
        finally:
            # Shielded: a watch stream is often cancelled twice (the client goes, then the server
            # stops); the listening connection must still go back to the pool.
            await asyncio.shield(self._leave(tenant_id, event))

    async def _leave(self, tenant_id: str, event: asyncio.Event) -> None:
        async with self._lock:
            waiting = self._waiting.get(tenant_id, set())
            waiting.discard(event)
            if not waiting:
                self._waiting.pop(tenant_id, None)
            if not self._waiting:
                await self._unlisten()

    async def _listen(self) -> None:
        try:
            connection = await self._pool.acquire()
        except (asyncpg.PostgresError, OSError):
            log.warning("schedule watchers poll: no connection to listen on")
            return
        await connection.add_listener(CHANNEL, self._notified)
        self._listener = connection

    async def _unlisten(self) -> None:
        connection, self._listener = self._listener, None
        if connection is not None:
            await connection.remove_listener(CHANNEL, self._notified)
            await self._pool.release(connection)

    def _notified(self, _connection: object, _pid: int, _channel: str, tenant_id: object) -> None:
        for event in self._waiting.get(str(tenant_id), ()):
            event.set()
