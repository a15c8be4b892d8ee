"""SQL for the clinic's side (schedule.py): appointments a page at a time, the change feed, blocked
time, and who acts and why. No gRPC here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from common.db import Connection
from services.reservation.repository import COLUMNS, NewReservation, Reservation, SlotTaken, to_reservation


@dataclass(frozen=True)
class Page:
    """Which appointments, and where the previous page ended (None: the first page)."""

    tenant_id: str
    start: datetime
    end: datetime
    provider_ids: list[str]
    statuses: list[str]
    after: tuple[datetime, str] | None
    size: int


@dataclass(frozen=True)
class Event:
    """One row of the tenant's change feed (reservation.reservation_events)."""

    seq: int
    reservation_id: str
    from_status: str | None
    to_status: str
    provider_id: str
    starts_at: datetime
    ends_at: datetime
    at: datetime
    actor: str
    reason: str
    change: str = ""  # a change that is neither status nor time: "ATTENDANCE_CONFIRMED"
    occupied_start: datetime | None = None  # None for changes recorded before migration 0016
    occupied_end: datetime | None = None
    hold_expires_at: datetime | None = None


class ScheduleRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def list_appointments(self, page: Page) -> list[Reservation]:
        """Up to page.size appointments after page.after, ordered by (start, id)."""
        after_start, after_id = page.after if page.after is not None else (None, None)
        rows = await self.pool.fetch(
            f"""
            SELECT {COLUMNS} FROM reservation.reservations
            WHERE tenant_id = $1 AND starts_at < $3 AND ends_at > $2
              AND status = ANY($5::text[])
              AND (cardinality($4::text[]) = 0 OR provider_id = ANY($4::text[]))
              AND ($6::timestamptz IS NULL OR (starts_at, reservation_id) > ($6, $7::uuid))
            ORDER BY starts_at, reservation_id
            LIMIT $8
            """,  # noqa: S608 - fixed columns
            page.tenant_id, page.start, page.end, page.provider_ids, page.statuses, after_start, after_id,
            page.size,
        )  # fmt: skip
        return [to_reservation(r) for r in rows]

    async def changes_after(self, tenant_id: str, seq: int, limit: int) -> list[Event]:
        """The next committed changes of the tenant (numbers are visible in order, without holes)."""
        rows = await self.pool.fetch(
            """
            SELECT seq, reservation_id::text AS reservation_id, from_status, to_status, provider_id,
                   starts_at, ends_at, at, actor, reason, change, occupied_start, occupied_end, hold_expires_at
            FROM reservation.reservation_events
            WHERE tenant_id = $1 AND seq > $2
            ORDER BY seq
            LIMIT $3
            """,
            tenant_id,
            seq,
            limit,
        )
        return [Event(**dict(r)) for r in rows]

    @staticmethod
    async def act_as(conn: Connection, actor: str, reason: str) -> None:
        """Name who acts and why for the rest of this transaction (the history trigger records it)."""
        await conn.execute(
            "SELECT set_config('reservation.actor', $1, true), set_config('reservation.reason', $2, true)",
            actor,
            reason,
        )

    @staticmethod
    async def insert_block(conn: Connection, tenant_id: str, block: NewReservation, now: datetime) -> Reservation:
        """Blocked time: a BLOCKED row, refused (SlotTaken) by the exclusion constraint like a hold."""
        try:
            async with conn.transaction():  # a savepoint: a refusal leaves the outer transaction usable
                row = await conn.fetchrow(
                    f"""
                    INSERT INTO reservation.reservations
                        (tenant_id, provider_id, service_id, starts_at, ends_at, occupied, timezone, status,
                         created_at, updated_at)
                    VALUES ($1, $2, '', $3, $4, tstzrange($3, $4), $5, 'BLOCKED', $6, $6)
                    RETURNING {COLUMNS}
                    """,  # noqa: S608 - fixed columns
                    tenant_id, block.provider_id, block.starts_at, block.ends_at, block.timezone, now,
                )  # fmt: skip
        except asyncpg.ExclusionViolationError:
            raise SlotTaken from None
        assert row is not None
        return to_reservation(row)

    async def latest_seq(self, tenant_id: str) -> int:
        """The tenant's last committed change number (0: none yet): where a live-only watch starts."""
        value = await self.pool.fetchval(
            "SELECT last_seq FROM reservation.schedule_counters WHERE tenant_id = $1", tenant_id
        )
        return int(value or 0)

    async def holds_and_blocks(
        self, tenant_id: str, start: datetime, end: datetime, provider_ids: list[str], now: datetime, limit: int
    ) -> list[tuple[Reservation, str, str]]:
        """Live holds and blocks overlapping [start, end), by start; with a block, who blocked it and why."""
        rows = await self.pool.fetch(
            f"""
            SELECT {COLUMNS}, coalesce(e.actor, '') AS actor, coalesce(e.reason, '') AS reason
            FROM reservation.reservations r
            LEFT JOIN LATERAL (
                SELECT actor, reason FROM reservation.reservation_events ev
                WHERE ev.tenant_id = r.tenant_id AND ev.reservation_id = r.reservation_id AND r.status = 'BLOCKED'
                ORDER BY ev.event_id LIMIT 1
            ) e ON true
            WHERE r.tenant_id = $1 AND r.starts_at < $3 AND r.ends_at > $2
              AND (r.status = 'BLOCKED' OR (r.status = 'HELD' AND r.hold_expires_at > $5))
              AND (cardinality($4::text[]) = 0 OR r.provider_id = ANY($4::text[]))
            ORDER BY r.starts_at, r.reservation_id
            LIMIT $6
            """,  # noqa: S608 - fixed columns
            tenant_id, start, end, provider_ids, now, limit,
        )  # fmt: skip
        found = []
        for row in rows:
            values = dict(row)
            actor, reason = values.pop("actor"), values.pop("reason")
            found.append((to_reservation(values), actor, reason))
        return found
