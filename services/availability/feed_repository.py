"""SQL for calendar feed tokens (availability.feed_tokens, migration 0013). No gRPC here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class StoredFeedToken:
    token_id: str
    provider_id: str
    shown: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class FeedTokenRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def provider_exists(self, tenant_id: str, provider_id: str) -> bool:
        """A provider of the clinic's current file (one removed from it gets no new token)."""
        found = await self.pool.fetchval(
            "SELECT 1 FROM availability.providers WHERE tenant_id = $1 AND provider_id = $2 AND active",
            tenant_id, provider_id,
        )  # fmt: skip
        return bool(found)

    async def add(self, tenant_id: str, provider_id: str, digest: str, shown: str, label: str) -> str:
        value = await self.pool.fetchval(
            """
            INSERT INTO availability.feed_tokens (tenant_id, provider_id, token_sha256, shown, label)
            VALUES ($1, $2, $3, $4, $5) RETURNING token_id::text
            """,
            tenant_id, provider_id, digest, shown, label,
        )  # fmt: skip
        return str(value)

    async def tokens(self, tenant_id: str, provider_id: str) -> list[StoredFeedToken]:
        rows = await self.pool.fetch(
            """
            SELECT token_id::text, provider_id, shown, label, created_at, revoked_at FROM availability.feed_tokens
            WHERE tenant_id = $1 AND ($2 = '' OR provider_id = $2)
            ORDER BY created_at DESC, token_id
            """,
            tenant_id, provider_id,
        )  # fmt: skip
        return [StoredFeedToken(**dict(r)) for r in rows]

    async def revoke(self, tenant_id: str, provider_id: str, token_id: str | None, now: datetime) -> int:
        """Revoke one valid token of the provider (token_id), or all of them (None)."""
        status = await self.pool.execute(
            """
            UPDATE availability.feed_tokens SET revoked_at = $4
            WHERE tenant_id = $1 AND provider_id = $2 AND ($3::uuid IS NULL OR token_id = $3::uuid)
              AND revoked_at IS NULL
            """,
            tenant_id, provider_id, token_id, now,
        )  # fmt: skip
        return int(str(status).split()[-1])

    async def valid_digests(self, tenant_id: str, provider_id: str) -> list[str]:
        rows = await self.pool.fetch(
            """
            SELECT token_sha256 FROM availability.feed_tokens
            WHERE tenant_id = $1 AND provider_id = $2 AND revoked_at IS NULL
            """,
            tenant_id, provider_id,
        )  # fmt: skip
        return [r["token_sha256"] for r in rows]
