"""SQL for one-time codes (reservation.otp_codes) and SendOtp's idempotency records. No gRPC here.

Sends are serialised by advisory locks (see ReservationRepository.lock_key): the call's and the
phone's while their limits are counted, then the clinic's, taken last, while its budget is
counted and the code written (migration 0020: the clinic's sends wait for each other for one
round trip and a commit only). A code row is locked while it is checked, so concurrent right
answers consume it once. A SendOtp key is first recorded as pending (an empty response) and given
its reply only after notification took the code.
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
    async def lock_and_count(
        conn: Connection, keys: list[tuple[str, ...]], tenant_id: str, phone: str, call_id: str, phone_since: datetime
    ) -> SentCounts:
        """Take `keys`' locks (as ReservationRepository.lock_key, in this order; held until commit)
        and count the codes the call's and the phone's limits look at, in one round trip."""
        row = await conn.fetchrow(
            "SELECT to_phone, in_call, call_numbers FROM reservation.lock_and_count_sends($1::text[], $2, $3, $4, $5)",
            ["\x1f".join(parts) for parts in keys], tenant_id, phone, call_id, phone_since,
        )  # fmt: skip
        assert row is not None
        numbers = frozenset(row["call_numbers"] or ())
        return SentCounts(to_phone=int(row["to_phone"]), in_call=int(row["in_call"]), call_numbers=numbers)

    @staticmethod
    async def insert_within_budget(
        conn: Connection, tenant_id: str, phone: str, call_id: str, code_hash: bytes, salt: bytes,
        now: datetime, expires_at: datetime, budget: int, budget_since: datetime, key: str,
    ) -> tuple[int, str | None]:  # fmt: skip
        """Under the clinic's lock (held until commit): the codes it texted since `budget_since`,
        and — when fewer than `budget` — the new code (replacing older live ones of this phone and
        call; the key, if any, marked in flight). Returns (codes spent, new code id or None)."""
        row = await conn.fetchrow(
            "SELECT spent, otp_id FROM reservation.insert_code_within_budget($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            tenant_id, phone, call_id, code_hash, salt, now, expires_at, budget, budget_since, key,
        )  # fmt: skip
        assert row is not None
        return int(row["spent"]), row["otp_id"]

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
        """Take the key's lock (held until commit) and read what it holds, in one round trip: the
        lock-and-read every idempotency key uses (ReservationRepository.stored_response)."""
        row = await conn.fetchrow(
            "SELECT method, response, created_at < now() - make_interval(secs => $3) AS abandoned "
            "FROM reservation.claim_idempotency_key($1, $2)",
            tenant_id,
            key,
            PENDING_ABANDONED_SECONDS,
        )
        if row is None or row["method"] is None:
            return None
        return KeyState(row["method"], bytes(row["response"]), bool(row["abandoned"]))

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
