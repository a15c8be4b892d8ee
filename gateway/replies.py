"""The reply cache: tenant + call id + toolCallId -> the first reply, so a Vapi retry gets the same
bytes and no second side effect. Concurrent duplicates share one run. (Reservation also dedupes by the same
key, so this holds across gateway instances and restarts too.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

REPLY_CACHE_SECONDS = 3600.0
REPLY_CACHE_SIZE = 20_000


class ReplyCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[float, asyncio.Future[str]]] = {}

    async def get_or_run(self, key: tuple[str, str], run: Callable[[], Awaitable[tuple[str, bool]]]) -> str:
        """The cached reply for `key`, else `run()`'s; kept only when `run` says so (not a fault)."""
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < REPLY_CACHE_SECONDS:
            return await asyncio.shield(entry[1])
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._entries[key] = (now, future)
        try:
            result, keep = await run()
        except BaseException as error:
            self._entries.pop(key, None)
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        future.set_result(result)
        if not keep:
            self._entries.pop(key, None)  # a fault: let a retry try again
        if len(self._entries) > REPLY_CACHE_SIZE:
            for old in sorted(self._entries, key=lambda k: self._entries[k][0])[: REPLY_CACHE_SIZE // 10]:
                self._entries.pop(old, None)
        return result
