"""SQL for the console's staff accounts (availability.staff_accounts). No gRPC, no hashing here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class StoredStaff:
    email: str
    created_at: datetime
    password_hash: str


class StaffRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def tenant_exists(self, tenant_id: str) -> bool:
        return bool(await self.pool.fetchval("SELECT 1 FROM availability.clinics WHERE tenant_id = $1", tenant_id))

    async def save(self, tenant_id: str, email: str, password_hash: str, replace: bool) -> bool | None:
        """True: created; False: an existing account got the new hash; None: exists and not `replace`."""
        async with self.pool.acquire() as conn, conn.transaction():
            existing = await conn.fetchval(
                "SELECT 1 FROM availability.staff_accounts WHERE tenant_id = $1 AND email = $2 FOR UPDATE",
                tenant_id, email,
            )  # fmt: skip
            if existing and not replace:
                return None
            await conn.execute(
                """
                INSERT INTO availability.staff_accounts (tenant_id, email, password_hash) VALUES ($1, $2, $3)
                ON CONFLICT (tenant_id, email) DO UPDATE SET password_hash = EXCLUDED.password_hash
                """,
                tenant_id, email, password_hash,
            )  # fmt: skip
            return not existing

    async def password_hash(self, tenant_id: str, email: str) -> str | None:
        value = await self.pool.fetchval(
            "SELECT password_hash FROM availability.staff_accounts WHERE tenant_id = $1 AND email = $2",
            tenant_id, email,
        )  # fmt: skip
        return None if value is None else str(value)

    async def update_hash(self, tenant_id: str, email: str, old: str, new: str) -> None:
        """A rehash under newer parameters, unless the password was changed meanwhile."""
        await self.pool.execute(
            "UPDATE availability.staff_accounts SET password_hash = $4 "
            "WHERE tenant_id = $1 AND email = $2 AND password_hash = $3",
            tenant_id, email, old, new,
        )  # fmt: skip

    async def accounts(self, tenant_id: str) -> list[StoredStaff]:
        rows = await self.pool.fetch(
            "SELECT email, created_at, password_hash FROM availability.staff_accounts "
            "WHERE tenant_id = $1 ORDER BY email",
            tenant_id,
        )
        return [StoredStaff(r["email"], r["created_at"], r["password_hash"]) for r in rows]

    async def remove(self, tenant_id: str, email: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM availability.staff_accounts WHERE tenant_id = $1 AND email = $2", tenant_id, email
        )
        return str(status).endswith(" 1")
