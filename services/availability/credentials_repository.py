"""SQL for tenant credentials: sealed webhook secrets and API key digests. No gRPC here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from common.db import Connection


@dataclass(frozen=True)
class StoredSecret:
    secret_id: str
    sealed: bytes
    expires_at: datetime | None


@dataclass(frozen=True)
class StoredKey:
    key_id: str
    shown: str
    label: str
    created_at: datetime
    revoked_at: datetime | None
    patient_phones: bool


class CredentialRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def tenant_ids(self) -> list[str]:
        return [r["tenant_id"] for r in await self.pool.fetch("SELECT tenant_id FROM availability.clinics ORDER BY 1")]

    async def tenant_exists(self, tenant_id: str) -> bool:
        return bool(
            await self.pool.fetchval("SELECT 1 FROM availability.clinics WHERE tenant_id = $1", tenant_id)
        )

    async def valid_secrets(self, conn: Connection | asyncpg.Pool, tenant_id: str, now: datetime) -> list[StoredSecret]:
        rows = await conn.fetch(
            """
            SELECT secret_id::text, sealed, expires_at FROM availability.tenant_secrets
            WHERE tenant_id = $1 AND (expires_at IS NULL OR expires_at > $2)
            ORDER BY created_at DESC
            """,
            tenant_id, now,
        )  # fmt: skip
        return [StoredSecret(r["secret_id"], bytes(r["sealed"]), r["expires_at"]) for r in rows]

    async def retired_secrets(self, conn: Connection, tenant_id: str, now: datetime) -> list[StoredSecret]:
        """The tenant's secrets that were valid once and have expired (rotated out or replaced)."""
        rows = await conn.fetch(
            "SELECT secret_id::text, sealed, expires_at FROM availability.tenant_secrets "
            "WHERE tenant_id = $1 AND expires_at <= $2",
            tenant_id, now,
        )  # fmt: skip
        return [StoredSecret(r["secret_id"], bytes(r["sealed"]), r["expires_at"]) for r in rows]

    async def lock_tenant(self, conn: Connection, tenant_id: str) -> bool:
        """Serialise secret changes of one tenant; False if the tenant does not exist."""
        found = await conn.fetchval(
            "SELECT 1 FROM availability.clinics WHERE tenant_id = $1 FOR UPDATE", tenant_id
        )
        return bool(found)

    async def add_secret(
        self, conn: Connection, tenant_id: str, secret_id: str, sealed: bytes, retire_others_at: datetime
    ) -> None:
        await conn.execute(
            """
            UPDATE availability.tenant_secrets SET expires_at = $2
            WHERE tenant_id = $1 AND (expires_at IS NULL OR expires_at > $2)
            """,
            tenant_id, retire_others_at,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO availability.tenant_secrets (tenant_id, secret_id, sealed) VALUES ($1, $2::uuid, $3)",
            tenant_id, secret_id, sealed,
        )  # fmt: skip

    async def add_key(self, tenant_id: str, digest: str, shown: str, label: str, patient_phones: bool) -> str:
        value = await self.pool.fetchval(
            """
            INSERT INTO availability.api_keys (tenant_id, key_sha256, shown, label, patient_phones)
            VALUES ($1, $2, $3, $4, $5) RETURNING key_id::text
            """,
            tenant_id, digest, shown, label, patient_phones,
        )  # fmt: skip
        return str(value)

    async def keys(self, tenant_id: str) -> list[StoredKey]:
        rows = await self.pool.fetch(
            """
            SELECT key_id::text, shown, label, created_at, revoked_at, patient_phones FROM availability.api_keys
            WHERE tenant_id = $1 ORDER BY created_at DESC
            """,
            tenant_id,
        )
        return [StoredKey(**dict(r)) for r in rows]

    async def revoke_key(self, tenant_id: str, key_id: str, now: datetime) -> bool:
        status = await self.pool.execute(
            """
            UPDATE availability.api_keys SET revoked_at = $3
            WHERE tenant_id = $1 AND key_id = $2::uuid AND revoked_at IS NULL
            """,
            tenant_id, key_id, now,
        )  # fmt: skip
        return str(status).endswith(" 1")

    async def valid_key_sees_phones(self, tenant_id: str, digest: str) -> bool | None:
        """Whether a valid key may see patient phones; None when the key is unknown or revoked."""
        found = await self.pool.fetchval(
            """
            SELECT patient_phones FROM availability.api_keys
            WHERE tenant_id = $1 AND key_sha256 = $2 AND revoked_at IS NULL
            """,
            tenant_id, digest,
        )  # fmt: skip
        return None if found is None else bool(found)
