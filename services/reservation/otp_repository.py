"""SQL for one-time codes (reservation.otp_codes) and SendOtp's idempotency records. No gRPC here.

Sends are serialised by the caller's advisory locks (per clinic, call and phone, see
ReservationRepository.lock_key) while they count and write; a code row is locked while it is
checked, so concurrent right answers consume it once. A SendOtp key is first recorded as pending
(an empty response) and given its reply only after notification took the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from common.db import Connection
from services.reservation.text_limits import SentCounts

SEND_OTP = "SendOtp"
# A pending key older than this belongs to an attempt that died mid-way: a repeat takes it over.
PENDING_ABANDONED_SECONDS = 10.0


@dataclass(frozen=True)
class KeyState:
    """What an idempotency key of SendOtp holds: a reply, or a send still in flight."""

    method: str
    response: bytes
    abandoned: bool

    @property
    def pending(self) -> bool:
        return not self.response  # a kept reply has sent=True, so it is never empty


@dataclass(frozen=True)
class OtpCode:
    otp_id: str
    phone: str
    call_id: str
    code_hash: bytes
    salt: bytes
    expires_at: datetime
    attempts: int
    verified_at: datetime | None


class OtpRepository:
    @staticmethod
    async def lock_keys(conn: Connection, *keys: tuple[str, ...]) -> None:
        """ReservationRepository.lock_key for each key, in this order, in one round trip."""
        await conn.execute("SELECT reservation.lock_keys($1::text[])", ["\x1f".join(parts) for parts in keys])

    @staticmethod
    async def sent_counts(
        conn: Connection, tenant_id: str, phone: str, call_id: str, phone_since: datetime, budget_since: datetime
    ) -> SentCounts:
        """The codes texted (handed to notification, or being handed) that the limits count."""
        row = await conn.fetchrow(
            """
            SELECT count(*) FILTER (WHERE phone = $2 AND created_at > $4) AS to_phone,
                   count(*) FILTER (WHERE $3 <> '' AND call_id = $3) AS in_call,
                   array_agg(DISTINCT phone) FILTER (WHERE $3 <> '' AND call_id = $3) AS call_numbers,
                   count(*) FILTER (WHERE created_at > $5) AS in_budget_window
            FROM reservation.otp_codes
            WHERE tenant_id = $1 AND NOT handoff_failed
              AND (phone = $2 OR ($3 <> '' AND call_id = $3) OR created_at > $5)
            """,
            tenant_id, phone, call_id, phone_since, budget_since,
        )  # fmt: skip
        assert row is not None
        return SentCounts(
            to_phone=int(row["to_phone"]), in_call=int(row["in_call"]),
            call_numbers=frozenset(row["call_numbers"] or ()), in_budget_window=int(row["in_budget_window"]),
        )  # fmt: skip

    @staticmethod
    async def insert_code(
        conn: Connection, tenant_id: str, phone: str, call_id: str, code_hash: bytes, salt: bytes,
        now: datetime, expires_at: datetime,
    ) -> str:  # fmt: skip
        # A new code replaces the older ones for this phone and call (one statement: the update
        # cannot see the row inserted beside it).
        value = await conn.fetchval(
            """
            WITH superseded AS (
                UPDATE reservation.otp_codes SET superseded = true
                WHERE tenant_id = $1 AND phone = $2 AND call_id = $3 AND NOT superseded AND verified_at IS NULL
            )
            INSERT INTO reservation.otp_codes (tenant_id, phone, call_id, code_hash, salt, created_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING otp_id::text
            """,
            tenant_id, phone, call_id, code_hash, salt, now, expires_at,
        )  # fmt: skip
        return str(value)

    @staticmethod
    async def void_code(conn: Connection, tenant_id: str, otp_id: str) -> None:
        """A code notification did not take: never checkable, and never counted."""
        await conn.execute(
            "UPDATE reservation.otp_codes SET superseded = true, handoff_failed = true "
            "WHERE tenant_id = $1 AND otp_id = $2::uuid",
            tenant_id,
            otp_id,
        )

    @staticmethod
    async def current_code(conn: Connection, tenant_id: str, phone: str, call_id: str) -> OtpCode | None:
        row = await conn.fetchrow(
            """
            SELECT otp_id::text AS otp_id, phone, call_id, code_hash, salt, expires_at, attempts, verified_at
            FROM reservation.otp_codes
            WHERE tenant_id = $1 AND ($2 = '' OR phone = $2) AND ($3 = '' OR call_id = $3) AND NOT superseded
            ORDER BY created_at DESC LIMIT 1
            FOR UPDATE
            """,
            tenant_id,
            phone,
            call_id,
        )
        if row is None:
            return None
        values = dict(row)
        values["code_hash"], values["salt"] = bytes(values["code_hash"]), bytes(values["salt"])
        return OtpCode(**values)

    @staticmethod
    async def record_check(conn: Connection, tenant_id: str, otp_id: str, verified_at: datetime | None) -> None:
        await conn.execute(
            "UPDATE reservation.otp_codes SET attempts = attempts + 1, verified_at = COALESCE(verified_at, $3) "
            "WHERE tenant_id = $1 AND otp_id = $2::uuid",
            tenant_id,
            otp_id,
            verified_at,
        )

    @staticmethod
    async def verified(conn: Connection, tenant_id: str, phone: str, call_id: str, since: datetime) -> bool:
        value = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM reservation.otp_codes WHERE tenant_id = $1 AND phone = $2 "
            "AND call_id = $3 AND verified_at IS NOT NULL AND verified_at > $4)",
            tenant_id,
            phone,
            call_id,
            since,
        )
        return bool(value)

    @staticmethod
    async def verified_phones(conn: Connection, tenant_id: str, call_id: str, since: datetime) -> list[str]:
        """The phones a code was verified for in this call since `since`, most recent first (none
        without a call id)."""
        if not call_id:
            return []
        rows = await conn.fetch(
            "SELECT phone FROM reservation.otp_codes "
            "WHERE tenant_id = $1 AND call_id = $2 AND verified_at IS NOT NULL AND verified_at > $3 "
            "GROUP BY phone ORDER BY max(verified_at) DESC",
            tenant_id,
            call_id,
            since,
        )
        return [str(r["phone"]) for r in rows]

    # --- SendOtp's idempotency keys ----------------------------------------------------------
    @staticmethod
    async def claim_key(conn: Connection, tenant_id: str, key: str) -> KeyState | None:
        """Take the key's lock (held until commit; as ReservationRepository.lock_key) and read
        what it holds, in one round trip (migration 0019)."""
        row = await conn.fetchrow(
            "SELECT method, response, abandoned FROM reservation.claim_send_key($1, $2, $3)",
            tenant_id,
            key,
            PENDING_ABANDONED_SECONDS,
        )
        if row is None or row["method"] is None:
            return None
        return KeyState(row["method"], bytes(row["response"]), bool(row["abandoned"]))

    @staticmethod
    async def mark_pending(conn: Connection, tenant_id: str, key: str) -> None:
        """Record the key as in flight (or take over an abandoned attempt)."""
        await conn.execute(
            "INSERT INTO reservation.idempotency_keys (tenant_id, idempotency_key, method, response) "
            "VALUES ($1, $2, $3, ''::bytea) ON CONFLICT (tenant_id, idempotency_key) "
            "DO UPDATE SET response = ''::bytea, created_at = now()",
            tenant_id,
            key,
            SEND_OTP,
        )

    @staticmethod
    async def settle_key(conn: Connection | asyncpg.Pool, tenant_id: str, key: str, response: bytes | None) -> None:
        """Keep the reply of a code notification took; forget a failed attempt so a repeat runs again."""
        if response:
            await conn.execute(
                "UPDATE reservation.idempotency_keys SET response = $3 WHERE tenant_id = $1 AND idempotency_key = $2",
                tenant_id,
                key,
                response,
            )
        else:
            await conn.execute(
                "DELETE FROM reservation.idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2 "
                "AND response = ''::bytea",
                tenant_id,
                key,
            )
