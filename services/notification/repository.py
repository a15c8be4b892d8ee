"""SQL for the notification schema. No gRPC here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from common.db import Connection
from common.relay import Queue

# How far a status has come; a callback never moves a message backwards.
STATUS_RANK = {"QUEUED": 0, "SENT": 1, "UNDELIVERED": 2, "FAILED": 2, "DELIVERED": 3, "SUPPRESSED": 3}
# The texts a patient's reply answers (reservation's HandlePatientReply reads it).
ASKS_FOR_A_REPLY = ("REMINDER", "WAITLIST_OFFER", "REPLY_HELP")


@dataclass(frozen=True)
class MessageRow:
    tenant_id: str
    message_id: str
    dedupe_key: str
    kind: str
    to_phone: str
    body: str
    segments: int
    status: str
    attempts: int
    provider_sid: str
    error_code: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ClaimedMessage:
    """A message the SMS relay claimed (the columns MESSAGE_QUEUE returns)."""

    tenant_id: str
    message_id: str
    kind: str
    to_phone: str
    body: str
    attempts: int
    # Earlier attempts whose outcome was recorded; fewer than attempts - 1 means a worker died
    # between handing the text to Twilio and recording it.
    settled: int = 0
    created_at: datetime | None = None
    # As the claim read it, just before its batch is sent: a STOP that lands while that batch is
    # being sent (seconds at most) is honoured from the next text on.
    opted_out: bool = False

    @property
    def uncertain(self) -> bool:
        return self.settled < self.attempts - 1


# Messages due for sending, as the SMS relay claims them.
MESSAGE_QUEUE = Queue(
    table="notification.messages",
    key="message_id",
    due="status = 'QUEUED' AND next_attempt_at <= $1",
    returning="t.tenant_id, t.message_id::text AS message_id, t.kind, t.to_phone, t.body, t.attempts, "
    "(SELECT count(*) FROM notification.message_attempts a"
    " WHERE a.tenant_id = t.tenant_id AND a.message_id = t.message_id)::int AS settled, t.created_at, "
    "COALESCE((SELECT o.opted_out FROM notification.opt_outs o"
    " WHERE o.tenant_id = t.tenant_id AND o.phone = t.to_phone), false) AS opted_out",
)


@dataclass(frozen=True)
class Settlement:
    """The outcome of one send attempt, as recorded for a claimed message."""

    status: str
    at: datetime
    next_attempt_at: datetime | None
    outcome: str
    http_status: int | None
    provider_sid: str
    error_code: str
    error_message: str
    scrub_codes: bool  # one-time codes are kept in clear only until they are handed to Twilio


COLUMNS = """tenant_id, message_id::text AS message_id, dedupe_key, kind, to_phone, body, segments, status,
    attempts, provider_sid, error_code, created_at, updated_at"""


class NotificationRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def enqueue(
        self, tenant_id: str, dedupe_key: str, kind: str, to_phone: str, body: str, segments: int
    ) -> tuple[MessageRow, bool]:
        """Store a message once per dedupe key; SUPPRESSED at once when the number opted out.

        Returns (message, created)."""
        # One statement, no transaction around it: the opt-out is read as the row is written.
        row = await self.pool.fetchrow(
            f"""
            INSERT INTO notification.messages (tenant_id, dedupe_key, kind, to_phone, body, segments, status)
            VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN EXISTS (
                SELECT 1 FROM notification.opt_outs WHERE tenant_id = $1 AND phone = $4 AND opted_out
            ) THEN 'SUPPRESSED' ELSE 'QUEUED' END)
            ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
            RETURNING {COLUMNS}
            """,  # noqa: S608 - fixed columns
            tenant_id, dedupe_key, kind, to_phone, body, segments,
        )  # fmt: skip
        if row is not None:
            return MessageRow(**dict(row)), True
        existing = await self.pool.fetchrow(
            f"SELECT {COLUMNS} FROM notification.messages WHERE tenant_id = $1 AND dedupe_key = $2",  # noqa: S608
            tenant_id,
            dedupe_key,
        )
        assert existing is not None
        return MessageRow(**dict(existing)), False

    async def get(self, tenant_id: str, message_id: str) -> MessageRow | None:
        row = await self.pool.fetchrow(
            f"SELECT {COLUMNS} FROM notification.messages WHERE tenant_id = $1 AND message_id::text = $2",  # noqa: S608
            tenant_id,
            message_id,
        )
        return None if row is None else MessageRow(**dict(row))

    async def list_messages(self, tenant_id: str, to_phone: str, status: str, limit: int) -> list[MessageRow]:
        rows = await self.pool.fetch(
            f"""
            SELECT {COLUMNS} FROM notification.messages
            WHERE tenant_id = $1 AND ($2 = '' OR to_phone = $2) AND ($3 = '' OR status = $3)
            ORDER BY created_at DESC LIMIT $4
            """,  # noqa: S608 - fixed columns
            tenant_id,
            to_phone,
            status,
            limit,
        )
        return [MessageRow(**dict(r)) for r in rows]

    async def set_opt_out(
        self, tenant_id: str, phone: str, opted_out: bool, source: str, conn: Connection | None = None
    ) -> bool:
        """Returns whether it changed."""
        previous = await (conn or self.pool).fetchval(
            """
            WITH previous AS (
                SELECT opted_out FROM notification.opt_outs WHERE tenant_id = $1 AND phone = $2
            ), upsert AS (
                INSERT INTO notification.opt_outs (tenant_id, phone, opted_out, source, updated_at)
                VALUES ($1, $2, $3, $4, now())
                ON CONFLICT (tenant_id, phone) DO UPDATE
                    SET opted_out = EXCLUDED.opted_out, source = EXCLUDED.source, updated_at = now()
                    WHERE notification.opt_outs.opted_out IS DISTINCT FROM EXCLUDED.opted_out
            )
            SELECT opted_out FROM previous
            """,
            tenant_id,
            phone,
            opted_out,
            source[:200],
        )
        return bool(previous) != opted_out

    async def recorded_sids(self, tenant_id: str, phone: str, sids: list[str]) -> set[str]:
        """Which of these provider ids another message to this phone has already recorded."""
        rows = await self.pool.fetch(
            "SELECT provider_sid FROM notification.messages WHERE tenant_id = $1 AND to_phone = $2 "
            "AND provider_sid = ANY($3::text[])",
            tenant_id, phone, sids,
        )  # fmt: skip
        return {row["provider_sid"] for row in rows}

    async def settle(self, tenant_id: str, message_id: str, attempt: int, token: str, outcome: Settlement) -> None:
        """Record one send attempt and move the message on, if `token`'s worker still holds it."""
        # One statement (the attempt and the message's new state), so no transaction around two.
        await self.pool.execute(
            """
            WITH attempt AS (
                INSERT INTO notification.message_attempts
                    (tenant_id, message_id, attempt, at, outcome, http_status, error_code, error_message)
                VALUES ($1, $2::uuid, $11, $5, $12, $13, $8, $9)
                ON CONFLICT DO NOTHING
            )
            UPDATE notification.messages SET
                status = $4, claimed_until = NULL, updated_at = $5,
                next_attempt_at = COALESCE($6, next_attempt_at),
                provider_sid = CASE WHEN $7 = '' THEN provider_sid ELSE $7 END,
                error_code = $8, error_message = $9,
                sent_at = CASE WHEN $4 = 'SENT' THEN $5 ELSE sent_at END,
                body = CASE WHEN $10 THEN regexp_replace(body, '[0-9]{4,8}', '******', 'g') ELSE body END
            WHERE tenant_id = $1 AND message_id = $2::uuid AND claimed_by = $3
            """,
            tenant_id, message_id, token, outcome.status, outcome.at, outcome.next_attempt_at,
            outcome.provider_sid, outcome.error_code, outcome.error_message, outcome.scrub_codes,
            attempt, outcome.outcome, outcome.http_status,
        )  # fmt: skip

    async def opt_out_state(self, tenant_id: str, phone: str) -> tuple[bool, datetime | None]:
        row = await self.pool.fetchrow(
            "SELECT opted_out, updated_at FROM notification.opt_outs WHERE tenant_id = $1 AND phone = $2",
            tenant_id,
            phone,
        )
        if row is None or not row["opted_out"]:
            return False, None
        return True, row["updated_at"]

    async def tenants_messaging(self, phone: str, conn: Connection | None = None) -> list[str]:
        """Tenants that have texted this number (an inbound STOP without a tenant applies to them)."""
        rows = await (conn or self.pool).fetch(
            "SELECT DISTINCT tenant_id FROM notification.messages WHERE to_phone = $1", phone
        )
        return [r["tenant_id"] for r in rows]

    async def latest_tenant_messaging(self, phone: str, conn: Connection | None = None) -> str:
        """The clinic whose text asking for a reply (a reminder, a waitlist offer, the help about
        them) reached this number last ("" if none): a reply without a tenant answers it. Any other
        text (a code, a confirmation) a clinic sent since does not make the reply theirs: one
        number texts for every clinic, and a C must not cancel another clinic's appointment."""
        value = await (conn or self.pool).fetchval(
            "SELECT tenant_id FROM notification.messages WHERE to_phone = $1 AND kind = ANY($2::text[]) "
            "AND status <> 'SUPPRESSED' ORDER BY created_at DESC LIMIT 1",
            phone, list(ASKS_FOR_A_REPLY),
        )  # fmt: skip
        return str(value or "")

    async def record_status(self, provider_sid: str, status: str, error_code: str) -> str | None:
        """Apply a delivery callback unless it would move the message backwards; returns the status after."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT tenant_id, message_id, status FROM notification.messages WHERE provider_sid = $1 FOR UPDATE",
                provider_sid,
            )
            if row is None:
                return None
            if STATUS_RANK.get(status, -1) <= STATUS_RANK[row["status"]]:
                return str(row["status"])
            await conn.execute(
                "UPDATE notification.messages SET status = $3, updated_at = now(), "
                "error_code = CASE WHEN $4 = '' THEN error_code ELSE $4 END "
                "WHERE tenant_id = $1 AND message_id = $2",
                row["tenant_id"],
                row["message_id"],
                status,
                error_code,
            )
            return status
