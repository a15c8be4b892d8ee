"""SQL for reminders (reservation.reminders) and patients' replies (reservation.patient_replies).
No gRPC here; every method runs inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from common.db import Connection


@dataclass(frozen=True)
class DueReminder:
    """A claimed reminder row (locked until the claiming transaction ends)."""

    tenant_id: str
    reminder_id: int
    reservation_id: str
    offset_minutes: int
    starts_at: datetime
    due_at: datetime
    scheduled_at: datetime
    phone: str
    clinic_name: str
    timezone: str
    quiet_start: int
    quiet_end: int


@dataclass(frozen=True)
class Schedule:
    """The reminders of one appointment time, as they are to be stored."""

    tenant_id: str
    reservation_id: str
    starts_at: datetime
    due: list[tuple[int, datetime]]  # (offset minutes, due at)
    phone: str
    clinic_name: str
    timezone: str
    quiet: tuple[int, int]


@dataclass(frozen=True)
class StoredReply:
    outcome: str
    reservation_id: str


class ReminderRepository:
    @staticmethod
    async def add(conn: Connection, schedule: Schedule, now: datetime) -> None:
        """Store the pending reminders of an appointment time (one per offset)."""
        await conn.executemany(
            """
            INSERT INTO reservation.reminders
                (tenant_id, reservation_id, offset_minutes, starts_at, due_at, scheduled_at, phone, clinic_name,
                 timezone, quiet_start, quiet_end)
            VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (tenant_id, reservation_id, offset_minutes) WHERE status = 'PENDING' DO NOTHING
            """,
            [
                (schedule.tenant_id, schedule.reservation_id, offset, schedule.starts_at, due, now, schedule.phone,
                 schedule.clinic_name, schedule.timezone, *schedule.quiet)
                for offset, due in schedule.due
            ],
        )  # fmt: skip

    @staticmethod
    async def drop(conn: Connection, tenant_id: str, reservation_id: str) -> int:
        """Drop an appointment's pending reminders (cancelled or moved)."""
        result = await conn.execute(
            "UPDATE reservation.reminders SET status = 'DROPPED' "
            "WHERE tenant_id = $1 AND reservation_id = $2::uuid AND status = 'PENDING'",
            tenant_id,
            reservation_id,
        )
        return int(result.split()[-1])

    @staticmethod
    async def claim_due(conn: Connection, now: datetime, batch: int) -> list[DueReminder]:
        """Lock up to `batch` due reminders that no other worker holds (SKIP LOCKED: no waiting)."""
        rows = await conn.fetch(
            """
            SELECT tenant_id, reminder_id, reservation_id::text AS reservation_id, offset_minutes, starts_at, due_at,
                   scheduled_at, phone, clinic_name, timezone, quiet_start, quiet_end
            FROM reservation.reminders
            WHERE status = 'PENDING' AND due_at <= $1
            ORDER BY due_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
            """,
            now,
            batch,
        )
        return [DueReminder(**dict(r)) for r in rows]

    @staticmethod
    async def finish(conn: Connection, reminder: DueReminder, status: str, reason: str, now: datetime) -> None:
        await conn.execute(
            "UPDATE reservation.reminders SET status = $3, skip_reason = $4, "
            "sent_at = CASE WHEN $3 = 'SENT' THEN $5::timestamptz END "
            "WHERE tenant_id = $1 AND reminder_id = $2",
            reminder.tenant_id,
            reminder.reminder_id,
            status,
            reason,
            now,
        )

    @staticmethod
    async def postpone(conn: Connection, reminder: DueReminder, until: datetime) -> None:
        await conn.execute(
            "UPDATE reservation.reminders SET due_at = $3 WHERE tenant_id = $1 AND reminder_id = $2",
            reminder.tenant_id,
            reminder.reminder_id,
            until,
        )

    # --- replies ---------------------------------------------------------------------------
    @staticmethod
    async def latest_reminded(conn: Connection, tenant_id: str, phone: str, now: datetime) -> str | None:
        """The appointment of the latest reminder the clinic sent this number, if it is still ahead
        and confirmed (a reply answers that one)."""
        value = await conn.fetchval(
            """
            SELECT m.reservation_id::text FROM reservation.reminders m
            JOIN reservation.reservations r ON r.tenant_id = m.tenant_id AND r.reservation_id = m.reservation_id
            WHERE m.tenant_id = $1 AND m.phone = $2 AND m.status = 'SENT'
              AND r.status = 'CONFIRMED' AND r.starts_at > $3
            ORDER BY m.sent_at DESC, m.reminder_id DESC
            LIMIT 1
            """,
            tenant_id,
            phone,
            now,
        )
        return None if value is None else str(value)

    @staticmethod
    async def reply_of(conn: Connection, tenant_id: str, message_sid: str) -> StoredReply | None:
        """The answer already given to this inbound message, if any."""
        row = await conn.fetchrow(
            "SELECT outcome, coalesce(reservation_id::text, '') AS reservation_id FROM reservation.patient_replies "
            "WHERE tenant_id = $1 AND message_sid = $2 AND outcome <> ''",
            tenant_id,
            message_sid,
        )
        return None if row is None else StoredReply(row["outcome"], row["reservation_id"])

    @staticmethod
    async def record_reply(
        conn: Connection, tenant_id: str, message_sid: str, phone: str, word: str, now: datetime
    ) -> StoredReply | None:
        """Record an inbound reply once per message; the earlier answer when it was already recorded."""
        inserted = await conn.fetchval(
            "INSERT INTO reservation.patient_replies (tenant_id, message_sid, phone, word, received_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true",
            tenant_id, message_sid, phone, word[:40], now,
        )  # fmt: skip
        if inserted:
            return None
        # Committed by the other delivery (the insert waited for it), so its answer is there.
        return await ReminderRepository.reply_of(conn, tenant_id, message_sid)

    @staticmethod
    async def answered(conn: Connection, tenant_id: str, message_sid: str, outcome: str, reservation_id: str) -> None:
        await conn.execute(
            "UPDATE reservation.patient_replies SET outcome = $3, reservation_id = $4::uuid "
            "WHERE tenant_id = $1 AND message_sid = $2",
            tenant_id,
            message_sid,
            outcome,
            reservation_id,
        )

    @staticmethod
    async def confirm_attendance(conn: Connection, tenant_id: str, reservation_id: str, now: datetime) -> None:
        """Record that the patient will come (the first YES counts; the schedule feed shows it)."""
        await conn.execute(
            "UPDATE reservation.reservations SET attendance_confirmed_at = $3, updated_at = $3, "
            "version = version + 1 "
            "WHERE tenant_id = $1 AND reservation_id = $2::uuid AND attendance_confirmed_at IS NULL",
            tenant_id,
            reservation_id,
            now,
        )
