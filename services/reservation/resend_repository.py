"""SQL for confirmations texted again (reservation.confirmation_resends). No gRPC here.

Callers hold the appointment's row lock, so the check, the count and the insert of one
appointment's re-sends never interleave."""

from __future__ import annotations

from datetime import datetime

from common.db import Connection


class ResendRepository:
    @staticmethod
    async def already_resent(
        conn: Connection, tenant_id: str, reservation_id: str, version: int, asked_by: str
    ) -> bool:
        value = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM reservation.confirmation_resends WHERE tenant_id = $1 "
            "AND reservation_id = $2::uuid AND version = $3 AND asked_by = $4)",
            tenant_id,
            reservation_id,
            version,
            asked_by,
        )
        return bool(value)

    @staticmethod
    async def count_since(conn: Connection, tenant_id: str, reservation_id: str, since: datetime) -> int:
        value = await conn.fetchval(
            "SELECT count(*) FROM reservation.confirmation_resends "
            "WHERE tenant_id = $1 AND reservation_id = $2::uuid AND sent_at > $3",
            tenant_id,
            reservation_id,
            since,
        )
        return int(value)

    @staticmethod
    async def record(
        conn: Connection, tenant_id: str, reservation_id: str, version: int, asked_by: str, now: datetime
    ) -> None:
        await conn.execute(
            "INSERT INTO reservation.confirmation_resends (tenant_id, reservation_id, version, asked_by, sent_at) "
            "VALUES ($1, $2::uuid, $3, $4, $5)",
            tenant_id,
            reservation_id,
            version,
            asked_by,
            now,
        )
