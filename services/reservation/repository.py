"""SQL for the reservation schema. No gRPC here.

Correctness lives in PostgreSQL: the exclusion constraint decides who gets a slot, row locks
order changes to one reservation, advisory locks serialise per idempotency key and per phone
(OTP send limits, booking limits), and every change is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import asyncpg

from common import outbox
from common.db import Connection
from services.reservation.policy import hold_is_live

T = TypeVar("T")
# Retried automatically: the transaction lost a race that PostgreSQL broke for us.
RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
RETRIES = 5


@dataclass(frozen=True)
class NewReservation:
    """What is booked and when: a hold to insert, or the new time of a moved appointment."""

    provider_id: str
    service_id: str
    starts_at: datetime
    ends_at: datetime
    occupied_start: datetime
    occupied_end: datetime
    timezone: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Reservation(NewReservation):
    """A stored hold or appointment."""

    tenant_id: str
    reservation_id: str
    status: str
    call_id: str
    patient_name: str
    patient_phone: str
    hold_expires_at: datetime | None
    confirmed_at: datetime | None
    canceled_at: datetime | None
    cancel_reason: str
    version: int  # bumped by every UPDATE: texts about a change are keyed by it
    language: str = ""  # of texts about it: "en", "es"; "" = not chosen on a call (English)
    attendance_confirmed_at: datetime | None = None  # the patient replied YES to a reminder

    def live_hold(self, now: datetime) -> bool:
        return hold_is_live(self.status, self.hold_expires_at, now)


@dataclass(frozen=True)
class BusyRow:
    provider_id: str
    start: datetime
    end: datetime
    reservation_id: str
    hold_expires_at: datetime | None  # None: an appointment or a block


COLUMNS = """
    tenant_id, reservation_id::text AS reservation_id, provider_id, service_id, starts_at, ends_at,
    lower(occupied) AS occupied_start, upper(occupied) AS occupied_end, timezone, status, call_id,
    patient_name, patient_phone, hold_expires_at, confirmed_at, canceled_at, cancel_reason, details::text AS details,
    version, language, attendance_confirmed_at
"""


def to_reservation(row: asyncpg.Record | Mapping[str, Any]) -> Reservation:
    values = dict(row)
    values["details"] = json.loads(values["details"])
    return Reservation(**values)


def is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


class SlotTaken(Exception):
    """The exclusion constraint refused the time: another active hold or appointment overlaps."""


EXPIRE_TENANT_HOLDS = """
WITH due AS (
    SELECT reservation_id FROM reservation.reservations
    WHERE tenant_id = $2 AND status = 'HELD' AND hold_expires_at <= $1
    ORDER BY reservation_id FOR UPDATE SKIP LOCKED
)
UPDATE reservation.reservations r SET status = 'EXPIRED', updated_at = $1, version = r.version + 1
FROM due WHERE r.tenant_id = $2 AND r.reservation_id = due.reservation_id
"""

class ReservationRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def transaction(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run `work` in a transaction, retrying deadlocks and serialization failures."""
        for attempt in range(RETRIES):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    return await work(conn)
            except RETRYABLE:
                if attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # --- idempotency ---------------------------------------------------------------------
    @staticmethod
    async def lock_key(conn: Connection, *parts: str) -> None:
        """Serialise transactions on one logical key until commit."""
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "\x1f".join(parts))

    @staticmethod
    async def stored_response(conn: Connection, tenant_id: str, key: str, method: str) -> bytes | None:
        """The reply stored for the key, read under the key's lock (taken here, held until commit)."""
        row = await conn.fetchrow("SELECT * FROM reservation.claim_idempotency_key($1, $2)", tenant_id, key)
        if row is None or row["method"] is None:
            return None
        if row["method"] != method:
            raise ValueError(f"idempotency_key was already used for {row['method']}")
        return bytes(row["response"])

    @staticmethod
    async def store_response(conn: Connection, tenant_id: str, key: str, method: str, response: bytes) -> None:
        await conn.execute(
            "INSERT INTO reservation.idempotency_keys (tenant_id, idempotency_key, method, response) "
            "VALUES ($1, $2, $3, $4)",
            tenant_id,
            key,
            method,
            response,
        )

    # --- holds ---------------------------------------------------------------------------
    @staticmethod
    async def release_call_holds(conn: Connection, tenant_id: str, call_id: str, now: datetime) -> int:
        result = await conn.fetch(
            """
            UPDATE reservation.reservations
            SET status = CASE WHEN hold_expires_at <= $3 THEN 'EXPIRED' ELSE 'RELEASED' END, updated_at = $3,
                version = version + 1
            WHERE tenant_id = $1 AND call_id = $2 AND status = 'HELD'
            RETURNING hold_expires_at > $3 AS was_live
            """,
            tenant_id,
            call_id,
            now,
        )
        return sum(1 for row in result if row["was_live"])

    @staticmethod
    async def clear_for_hold(conn: Connection, tenant_id: str, new: NewReservation, call: str, now: datetime) -> None:
        """lock_key(provider), release_call_holds and expire_stale_overlapping in one round trip."""
        await conn.execute(
            "SELECT reservation.clear_for_hold($1, $2, $3, $4, $5, $6)",
            tenant_id, new.provider_id, call, new.occupied_start, new.occupied_end, now,
        )  # fmt: skip

    @staticmethod
    async def expire_stale_overlapping(
        conn: Connection, tenant_id: str, provider_id: str, start: datetime, end: datetime, now: datetime
    ) -> None:
        """Mark expired holds on this time EXPIRED, so the constraint stops counting them."""
        await conn.execute(
            """
            UPDATE reservation.reservations SET status = 'EXPIRED', updated_at = $5, version = version + 1
            WHERE tenant_id = $1 AND provider_id = $2 AND status = 'HELD'
              AND hold_expires_at <= $5 AND occupied && tstzrange($3, $4)
            """,
            tenant_id,
            provider_id,
            start,
            end,
            now,
        )

    @staticmethod
    async def patient_conflicts(
        conn: Connection, tenant_id: str, phone: str, start: datetime, end: datetime, now: datetime
    ) -> list[Reservation]:
        """The patient's own live holds and appointments overlapping this time."""
        rows = await conn.fetch(
            f"""
            SELECT {COLUMNS} FROM reservation.reservations
            WHERE tenant_id = $1 AND patient_phone = $2 AND tstzrange(starts_at, ends_at) && tstzrange($3, $4)
              AND (status = 'CONFIRMED' OR (status = 'HELD' AND hold_expires_at > $5))
            """,  # noqa: S608 - fixed columns
            tenant_id,
            phone,
            start,
            end,
            now,
        )
        return [to_reservation(r) for r in rows]

    @staticmethod
    async def insert_hold(
        conn: Connection,
        tenant_id: str,
        new: NewReservation,
        call_id: str,
        patient_name: str,
        patient_phone: str,
        expires_at: datetime,
        now: datetime,
        language: str = "",
    ) -> Reservation:
        # No savepoint of its own (two round trips): callers insert inside one, which a lost race
        # (SlotTaken) rolls back, keeping the rest of their transaction usable.
        try:
            row = await conn.fetchrow(
                f"""
                INSERT INTO reservation.reservations
                    (tenant_id, provider_id, service_id, starts_at, ends_at, occupied, timezone, status,
                     call_id, patient_name, patient_phone, hold_expires_at, details, created_at, updated_at,
                     language)
                VALUES ($1, $2, $3, $4, $5, tstzrange($6, $7), $8, 'HELD', $9, $10, $11, $12, $13::jsonb, $14, $14,
                        $15)
                RETURNING {COLUMNS}
                """,  # noqa: S608 - fixed columns
                tenant_id, new.provider_id, new.service_id, new.starts_at, new.ends_at,
                new.occupied_start, new.occupied_end, new.timezone, call_id, patient_name, patient_phone,
                expires_at, json.dumps(new.details), now, language,
            )  # fmt: skip
        except asyncpg.ExclusionViolationError:
            raise SlotTaken from None
        except asyncpg.UniqueViolationError:
            # Another hold of this very call won the race for "one live hold per call".
            raise SlotTaken from None
        assert row is not None
        return to_reservation(row)

    @staticmethod
    async def _one(conn: Connection, where: str, *args: str, lock: bool) -> Reservation | None:
        row = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM reservation.reservations WHERE {where}"  # noqa: S608 - fixed SQL only
            + (" FOR UPDATE" if lock else ""),
            *args,
        )
        return None if row is None else to_reservation(row)

    @classmethod
    async def get(
        cls, conn: Connection, tenant_id: str, reservation_id: str, *, lock: bool = False
    ) -> Reservation | None:
        if not is_uuid(reservation_id):
            return None
        return await cls._one(
            conn, "tenant_id = $1 AND reservation_id = $2::uuid", tenant_id, reservation_id, lock=lock
        )

    @classmethod
    async def latest_call_hold(
        cls, conn: Connection, tenant_id: str, call_id: str, *, lock: bool = False
    ) -> Reservation | None:
        where = (
            "tenant_id = $1 AND call_id = $2 AND status IN ('HELD', 'EXPIRED', 'RELEASED', 'CONFIRMED') "
            "ORDER BY created_at DESC LIMIT 1"
        )
        return await cls._one(conn, where, tenant_id, call_id, lock=lock)

    @staticmethod
    async def set_status(
        conn: Connection, tenant_id: str, reservation_id: str, status: str, now: datetime, **fields: Any
    ) -> Reservation:
        assignments = ", ".join(f"{name} = ${index}" for index, name in enumerate(fields, start=5))
        row = await conn.fetchrow(
            "UPDATE reservation.reservations SET status = $3, updated_at = $4, version = version + 1"  # noqa: S608 - names are ours
            + (f", {assignments}" if assignments else "")
            + f" WHERE tenant_id = $1 AND reservation_id = $2::uuid RETURNING {COLUMNS}",
            tenant_id,
            reservation_id,
            status,
            now,
            *fields.values(),
        )
        assert row is not None
        return to_reservation(row)

    @staticmethod
    async def move(
        conn: Connection, tenant_id: str, reservation_id: str, new: NewReservation, now: datetime
    ) -> Reservation:
        """Move an appointment: the new time is taken and the old freed by one UPDATE."""
        try:
            async with conn.transaction():
                row = await conn.fetchrow(
                    f"""
                    UPDATE reservation.reservations
                    SET provider_id = $3, starts_at = $4, ends_at = $5, occupied = tstzrange($6, $7),
                        details = details || $8::jsonb, updated_at = $9,
                        version = version + 1, attendance_confirmed_at = NULL
                    WHERE tenant_id = $1 AND reservation_id = $2::uuid
                    RETURNING {COLUMNS}
                    """,  # noqa: S608 - fixed columns
                    tenant_id, reservation_id, new.provider_id, new.starts_at, new.ends_at,
                    new.occupied_start, new.occupied_end, json.dumps(new.details), now,
                )  # fmt: skip
        except asyncpg.ExclusionViolationError:
            raise SlotTaken from None
        assert row is not None
        return to_reservation(row)

    @staticmethod
    async def count_future_appointments(conn: Connection, tenant_id: str, phone: str, now: datetime) -> int:
        value = await conn.fetchval(
            "SELECT count(*) FROM reservation.reservations "
            "WHERE tenant_id = $1 AND patient_phone = $2 AND status = 'CONFIRMED' AND starts_at > $3",
            tenant_id,
            phone,
            now,
        )
        return int(value)

    async def find_by_phone(
        self, tenant_id: str, phone: str, upcoming_only: bool, now: datetime, limit: int
    ) -> list[Reservation]:
        rows = await self.pool.fetch(
            f"""
            SELECT {COLUMNS} FROM reservation.reservations
            WHERE tenant_id = $1 AND patient_phone = $2
              AND status IN ('CONFIRMED', 'CANCELED', 'NO_SHOW', 'COMPLETED')
              AND (NOT $3 OR (status = 'CONFIRMED' AND starts_at > $4))
            ORDER BY starts_at
            LIMIT $5
            """,  # noqa: S608 - fixed columns
            tenant_id,
            phone,
            upcoming_only,
            now,
            limit,
        )
        return [to_reservation(r) for r in rows]

    async def list_busy(
        self, tenant_id: str, provider_ids: list[str], start: datetime, end: datetime, now: datetime
    ) -> tuple[list[BusyRow], int]:
        """Occupied time of live holds, confirmed appointments and blocked time overlapping [start, end),
        and the schedule's feed position read in the same snapshot (one statement): the answer is
        exactly the schedule after that change and before the next."""
        rows = await self.pool.fetch(
            """
            SELECT feed.seq, b.provider_id, b.start, b."end", b.reservation_id, b.hold_expires_at
            FROM (SELECT coalesce((SELECT last_seq FROM reservation.schedule_counters WHERE tenant_id = $1), 0)
                         AS seq) feed
            LEFT JOIN LATERAL (
                SELECT provider_id, lower(occupied) AS start, upper(occupied) AS "end",
                       reservation_id::text AS reservation_id,
                       CASE WHEN status = 'HELD' THEN hold_expires_at END AS hold_expires_at
                FROM reservation.reservations
                WHERE tenant_id = $1
                  AND (cardinality($2::text[]) = 0 OR provider_id = ANY($2::text[]))
                  AND occupied && tstzrange($3, $4)
                  AND (status IN ('CONFIRMED', 'BLOCKED') OR (status = 'HELD' AND hold_expires_at > $5))
            ) b ON true
            ORDER BY b.provider_id, b.start
            """,
            tenant_id, provider_ids, start, end, now,
        )  # fmt: skip
        keys = ("provider_id", "start", "end", "reservation_id", "hold_expires_at")
        return [BusyRow(*(r[k] for k in keys)) for r in rows if r["provider_id"] is not None], int(rows[0]["seq"])

    async def expire_holds(self, now: datetime) -> int:
        """Mark every run-out hold EXPIRED (reporting only: live checks never rely on it).

        One transaction per tenant, skipping holds another sweeper (replica) has locked: a
        transaction that spanned tenants could take two tenants' schedule counters in the opposite
        order to another replica's and deadlock at commit."""
        tenants = await self.pool.fetch(
            "SELECT DISTINCT tenant_id FROM reservation.reservations WHERE status = 'HELD' AND hold_expires_at <= $1",
            now,
        )
        expired = 0
        for row in tenants:
            result = await self.pool.execute(EXPIRE_TENANT_HOLDS, now, row["tenant_id"])
            expired += int(result.split()[-1])
        return expired

    # --- outbox --------------------------------------------------------------------------
    @staticmethod
    async def enqueue_sms(conn: Connection, tenant_id: str, dedupe_key: str, payload: bytes) -> None:
        await outbox.add(conn, "reservation", tenant_id, dedupe_key, "sms", payload)
