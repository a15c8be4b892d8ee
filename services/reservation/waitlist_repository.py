"""SQL for the waitlist: entries, offers, and the queue of freed times. No gRPC here.

Freed times are written by a trigger (migrations/0015_waitlist.sql) in the transaction that frees
them; the offer worker claims them through common/relay.py. A waiter's row is locked while an
offer is made to them or answered, so their state is decided one change at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from common.db import Connection
from common.relay import Queue
from services.reservation.repository import is_uuid
from services.reservation.waitlist_policy import Offer, Waiter, Wish

WAITER_COLUMNS = """
    tenant_id, waitlist_id::text AS waitlist_id, phone, patient_name, service_id, provider_id, from_date, to_date,
    part_of_day, timezone, language, status, call_id, joined_at
"""
OFFER_COLUMNS = """
    tenant_id, hold_id::text AS hold_id, waitlist_id::text AS waitlist_id, phone, provider_id, starts_at,
    expires_at, status, created_at, answered_at, answered_sid
"""
CANDIDATES = 50  # waiters looked at per freed time; the first one that fits is offered it

FREED_QUEUE = Queue(
    table="reservation.freed_slots",
    key="freed_id",
    due="done_at IS NULL AND available_at <= $1",
    returning="t.tenant_id, t.freed_id, t.reservation_id::text AS reservation_id, t.provider_id, t.service_id, "
    "t.starts_at, t.ends_at, t.attempts",
)


@dataclass(frozen=True)
class FreedSlot:
    """A time a hold, appointment or block stopped occupying."""

    tenant_id: str
    freed_id: int
    reservation_id: str
    provider_id: str
    service_id: str
    starts_at: datetime
    ends_at: datetime
    attempts: int


def waiter_of(row: asyncpg.Record) -> Waiter:
    return Waiter(**dict(row))


def offer_of(row: asyncpg.Record) -> Offer:
    return Offer(**dict(row))


class WaitlistRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # --- entries -------------------------------------------------------------------------
    @staticmethod
    async def waiting_for_phone(conn: Connection, tenant_id: str, phone: str, today: date) -> list[Waiter]:
        """The phone's entries still waiting for days that have not all passed."""
        rows = await conn.fetch(
            f"SELECT {WAITER_COLUMNS} FROM reservation.waitlist "  # noqa: S608 - fixed columns
            "WHERE tenant_id = $1 AND phone = $2 AND status = 'WAITING' AND to_date >= $3 ORDER BY joined_at",
            tenant_id, phone, today,
        )  # fmt: skip
        return [waiter_of(r) for r in rows]

    @staticmethod
    async def insert_waiter(
        conn: Connection, tenant_id: str, phone: str, name: str, wish: Wish, timezone: str, language: str,
        call_id: str, now: datetime,
    ) -> Waiter:  # fmt: skip
        row = await conn.fetchrow(
            f"""
            INSERT INTO reservation.waitlist (tenant_id, phone, patient_name, service_id, provider_id, from_date,
                to_date, part_of_day, timezone, language, call_id, joined_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
            RETURNING {WAITER_COLUMNS}
            """,  # noqa: S608 - fixed columns
            tenant_id, phone, name, wish.service_id, wish.provider_id, wish.from_date, wish.to_date,
            wish.part_of_day, timezone, language, call_id, now,
        )  # fmt: skip
        assert row is not None
        return waiter_of(row)

    @staticmethod
    async def waiter(conn: Connection, tenant_id: str, waitlist_id: str, *, lock: bool = False) -> Waiter | None:
        if not is_uuid(waitlist_id):
            return None
        row = await conn.fetchrow(
            f"SELECT {WAITER_COLUMNS} FROM reservation.waitlist "  # noqa: S608 - fixed columns
            "WHERE tenant_id = $1 AND waitlist_id = $2::uuid" + (" FOR UPDATE" if lock else ""),
            tenant_id, waitlist_id,
        )  # fmt: skip
        return None if row is None else waiter_of(row)

    @staticmethod
    async def set_waiter_status(conn: Connection, tenant_id: str, waitlist_id: str, status: str, now: datetime) -> None:
        await conn.execute(
            "UPDATE reservation.waitlist SET status = $3, updated_at = $4 "
            "WHERE tenant_id = $1 AND waitlist_id = $2::uuid",
            tenant_id, waitlist_id, status, now,
        )  # fmt: skip

    async def list_waiters(self, tenant_id: str, include_inactive: bool, limit: int) -> list[Waiter]:
        rows = await self.pool.fetch(
            f"SELECT {WAITER_COLUMNS} FROM reservation.waitlist "  # noqa: S608 - fixed columns
            "WHERE tenant_id = $1 AND ($2 OR status = 'WAITING') ORDER BY joined_at, waitlist_id LIMIT $3",
            tenant_id, include_inactive, limit,
        )  # fmt: skip
        return [waiter_of(r) for r in rows]

    @staticmethod
    async def candidates(conn: Connection, slot: FreedSlot, now: datetime) -> list[Waiter]:
        """Waiting entries this freed time may suit, earliest joined first: the provider and day fit
        (the part of day is checked by waitlist_policy.wants), never offered this time before, and
        holding no live offer."""
        rows = await conn.fetch(
            f"""
            SELECT {WAITER_COLUMNS} FROM reservation.waitlist w
            WHERE w.tenant_id = $1 AND w.status = 'WAITING' AND w.provider_id IN ('', $2)
              AND ($3 AT TIME ZONE w.timezone)::date BETWEEN w.from_date AND w.to_date
              AND NOT EXISTS (SELECT 1 FROM reservation.waitlist_offers o
                              WHERE o.tenant_id = w.tenant_id AND o.waitlist_id = w.waitlist_id
                                AND ((o.provider_id = $2 AND o.starts_at = $3)
                                     OR (o.status = 'OFFERED' AND o.expires_at > $4)))
            ORDER BY w.joined_at, w.waitlist_id
            LIMIT $5
            """,  # noqa: S608 - fixed columns
            slot.tenant_id, slot.provider_id, slot.starts_at, now, CANDIDATES,
        )  # fmt: skip
        return [waiter_of(r) for r in rows]

    # --- offers --------------------------------------------------------------------------
    @staticmethod
    async def may_be_offered(
        conn: Connection, waiter: Waiter, provider_id: str, starts_at: datetime, now: datetime
    ) -> bool:
        """Inside the offer's transaction, under the waiter's row lock: no live offer, never this time."""
        taken = await conn.fetchval(
            """
            SELECT EXISTS (SELECT 1 FROM reservation.waitlist_offers
                           WHERE tenant_id = $1 AND waitlist_id = $2::uuid
                             AND ((provider_id = $3 AND starts_at = $4) OR (status = 'OFFERED' AND expires_at > $5)))
            """,
            waiter.tenant_id, waiter.waitlist_id, provider_id, starts_at, now,
        )  # fmt: skip
        return not taken

    @staticmethod
    async def insert_offer(conn: Connection, waiter: Waiter, hold_id: str, starts_at: datetime, provider_id: str,
                           expires_at: datetime, now: datetime) -> None:  # fmt: skip
        await conn.execute(
            "INSERT INTO reservation.waitlist_offers (tenant_id, hold_id, waitlist_id, phone, provider_id, starts_at, "
            "expires_at, created_at) VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6, $7, $8)",
            waiter.tenant_id, hold_id, waiter.waitlist_id, waiter.phone, provider_id, starts_at, expires_at, now,
        )  # fmt: skip

    @staticmethod
    async def latest_offer(conn: Connection, tenant_id: str, phone: str, *, lock: bool = False) -> Offer | None:
        row = await conn.fetchrow(
            f"SELECT {OFFER_COLUMNS} FROM reservation.waitlist_offers "  # noqa: S608 - fixed columns
            "WHERE tenant_id = $1 AND phone = $2 ORDER BY created_at DESC, hold_id LIMIT 1"
            + (" FOR UPDATE" if lock else ""),
            tenant_id, phone,
        )  # fmt: skip
        return None if row is None else offer_of(row)

    @staticmethod
    async def answer_offer(conn: Connection, offer: Offer, status: str, now: datetime, sid: str) -> None:
        await conn.execute(
            "UPDATE reservation.waitlist_offers SET status = $3, answered_at = $4, answered_sid = $5 "
            "WHERE tenant_id = $1 AND hold_id = $2::uuid",
            offer.tenant_id, offer.hold_id, status, now, sid,
        )  # fmt: skip

    async def live_offers(self, tenant_id: str, waitlist_ids: list[str], now: datetime) -> dict[str, Offer]:
        rows = await self.pool.fetch(
            f"SELECT {OFFER_COLUMNS} FROM reservation.waitlist_offers "  # noqa: S608 - fixed columns
            "WHERE tenant_id = $1 AND waitlist_id::text = ANY($2::text[]) AND status = 'OFFERED' AND expires_at > $3",
            tenant_id, waitlist_ids, now,
        )  # fmt: skip
        return {o.waitlist_id: o for o in map(offer_of, rows)}

    @staticmethod
    async def live_offer_of(conn: Connection, waiter: Waiter, now: datetime) -> Offer | None:
        row = await conn.fetchrow(
            f"SELECT {OFFER_COLUMNS} FROM reservation.waitlist_offers "  # noqa: S608 - fixed columns
            "WHERE tenant_id = $1 AND waitlist_id = $2::uuid AND status = 'OFFERED' AND expires_at > $3 FOR UPDATE",
            waiter.tenant_id, waiter.waitlist_id, now,
        )  # fmt: skip
        return None if row is None else offer_of(row)

    # --- freed times ---------------------------------------------------------------------
    async def freed_done(self, slot: FreedSlot, now: datetime) -> None:
        await self.pool.execute(
            "UPDATE reservation.freed_slots SET done_at = $3, claimed_until = NULL "
            "WHERE tenant_id = $1 AND freed_id = $2",
            slot.tenant_id, slot.freed_id, now,
        )  # fmt: skip

    async def freed_later(self, slot: FreedSlot, at: datetime) -> None:
        await self.pool.execute(
            "UPDATE reservation.freed_slots SET available_at = $3, claimed_until = NULL "
            "WHERE tenant_id = $1 AND freed_id = $2",
            slot.tenant_id, slot.freed_id, at,
        )  # fmt: skip
