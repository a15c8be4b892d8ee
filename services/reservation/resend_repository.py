"""SQL for confirmations texted again (reservation.confirmation_resends). No gRPC here.

Callers hold the appointment's row lock, so the check, the count and the insert of one
appointment's re-sends never interleave."""

from __future__ import annotations

from datetime import datetime

from common.db import Connection

TABLE = "reservation.confirmation_resends"
ONE_VERSION = "tenant_id = $1 AND reservation_id = $2::uuid AND version = $3 AND asked_by = $4"


class ResendRepository:
    @staticmethod
    async def already_resent(conn: Connection, tenant_id: str, reservation_id: str, version: int, by: str) -> bool:
        query = f"SELECT EXISTS (SELECT 1 FROM {TABLE} WHERE {ONE_VERSION})"  # noqa: S608 - fixed SQL only
        return bool(await conn.fetchval(query, tenant_id, reservation_id, version, by))

    @staticmethod
    async def count_since(conn: Connection, tenant_id: str, reservation_id: str, since: datetime) -> int:
        query = f"SELECT count(*) FROM {TABLE} WHERE tenant_id = $1 AND reservation_id = $2::uuid AND sent_at > $3"  # noqa: S608
        return int(await conn.fetchval(query, tenant_id, reservation_id, since))

    @staticmethod
    async def record(
        conn: Connection, tenant_id: str, reservation_id: str, version: int, by: str, at: datetime
    ) -> None:
        query = f"INSERT INTO {TABLE} (tenant_id, reservation_id, version, asked_by, sent_at) VALUES ($1, $2::uuid, $3, $4, $5)"  # noqa: S608, E501
        await conn.execute(query, tenant_id, reservation_id, version, by, at)
