"""SQL for one-time codes (reservation.otp_codes). No gRPC here.

Sends per phone are serialised by the caller's advisory lock (see ReservationRepository.lock_key);
a code row is locked while it is checked, so concurrent right answers consume it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from common.db import Connection


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
    async def count_recent_codes(conn: Connection, tenant_id: str, phone: str, since: datetime) -> int:
        value = await conn.fetchval(
            "SELECT count(*) FROM reservation.otp_codes WHERE tenant_id = $1 AND phone = $2 AND created_at > $3",
            tenant_id,
            phone,
            since,
        )
        return int(value)

    @staticmethod
    async def insert_code(
        conn: Connection, tenant_id: str, phone: str, call_id: str, code_hash: bytes, salt: bytes,
        now: datetime, expires_at: datetime,
    ) -> str:  # fmt: skip
        # A new code replaces the older ones for this phone and call.
        await conn.execute(
            "UPDATE reservation.otp_codes SET superseded = true "
            "WHERE tenant_id = $1 AND phone = $2 AND call_id = $3 AND NOT superseded AND verified_at IS NULL",
            tenant_id,
            phone,
            call_id,
        )
        value = await conn.fetchval(
            """
            INSERT INTO reservation.otp_codes (tenant_id, phone, call_id, code_hash, salt, created_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING otp_id::text
            """,
            tenant_id, phone, call_id, code_hash, salt, now, expires_at,
        )  # fmt: skip
        return str(value)

    @staticmethod
    async def supersede_code(conn: Connection, tenant_id: str, otp_id: str) -> None:
        await conn.execute(
            "UPDATE reservation.otp_codes SET superseded = true WHERE tenant_id = $1 AND otp_id = $2::uuid",
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
    async def verified_phones(conn: Connection, tenant_id: str, call_id: str, since: datetime) -> frozenset[str]:
        """The phones a code was verified for in this call since `since` (none without a call id)."""
        if not call_id:
            return frozenset()
        rows = await conn.fetch(
            "SELECT DISTINCT phone FROM reservation.otp_codes "
            "WHERE tenant_id = $1 AND call_id = $2 AND verified_at IS NOT NULL AND verified_at > $3",
            tenant_id,
            call_id,
            since,
        )
        return frozenset(str(r["phone"]) for r in rows)
