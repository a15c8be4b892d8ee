"""The hold sweeper: marks run-out holds EXPIRED for reporting. Correctness never depends on it."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from common.timestamps import Clock
from services.reservation.repository import ReservationRepository

log = logging.getLogger("services.reservation")


class HoldSweeper:
    def __init__(self, repository: ReservationRepository, clock: Clock, interval: float = 30.0) -> None:
        self.repository = repository
        self.clock = clock
        self.interval = interval

    async def run(self) -> None:
        while True:
            try:
                expired = await self.repository.expire_holds(self.clock())
                if expired:
                    log.info("expired holds", extra={"count": expired})
            except (asyncpg.PostgresError, OSError):
                log.warning("hold sweeper could not reach the database")
            await asyncio.sleep(self.interval)
