"""SQL for the reservation schema. No gRPC here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class BusyRow:
    provider_id: str
    start: datetime
    end: datetime


class ReservationRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def list_busy(
        self, tenant_id: str, provider_ids: list[str], start: datetime, end: datetime, now: datetime
    ) -> list[BusyRow]:
        """Occupied time of live holds and confirmed appointments overlapping [start, end)."""
        rows = await self.pool.fetch(
            """
            SELECT provider_id, lower(occupied) AS start, upper(occupied) AS "end"
            FROM reservation.reservations
            WHERE tenant_id = $1
              AND (cardinality($2::text[]) = 0 OR provider_id = ANY($2::text[]))
              AND occupied && tstzrange($3, $4)
              AND (status = 'CONFIRMED' OR (status = 'HELD' AND hold_expires_at > $5))
            ORDER BY provider_id, lower(occupied)
            """,
            tenant_id,
            provider_ids,
            start,
            end,
            now,
        )
        return [BusyRow(r["provider_id"], r["start"], r["end"]) for r in rows]
