"""SQL for the availability schema. No gRPC here."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import asyncpg
from google.protobuf import json_format

from booking.availability.v1 import availability_pb2 as pb
from common.db import Connection


@dataclass(frozen=True)
class StoredClinic:
    config: pb.ClinicConfig
    version: int
    slot_key: bytes


def config_fingerprint(config: pb.ClinicConfig) -> str:
    return hashlib.sha256(config.SerializeToString(deterministic=True)).hexdigest()


class ClinicRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def upsert(self, config: pb.ClinicConfig) -> tuple[bool, int]:
        """Store a validated configuration. Returns (changed, version); identical input changes nothing."""
        fingerprint = config_fingerprint(config)
        document = json_format.MessageToJson(config, preserving_proto_field_name=True, indent=None)
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                """
                INSERT INTO availability.clinics AS c
                    (tenant_id, name, timezone, phone, default_region, config, config_sha256, slot_key)
                VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)
                ON CONFLICT (tenant_id) DO UPDATE SET
                    name = EXCLUDED.name, timezone = EXCLUDED.timezone, phone = EXCLUDED.phone,
                    default_region = EXCLUDED.default_region,
                    config = EXCLUDED.config, config_sha256 = EXCLUDED.config_sha256,
                    slot_key = COALESCE(c.slot_key, EXCLUDED.slot_key),
                    version = c.version + 1, updated_at = now()
                WHERE c.config_sha256 IS DISTINCT FROM EXCLUDED.config_sha256
                RETURNING version
                """,
                config.tenant_id, config.name, config.timezone, config.phone, config.default_region,
                document, fingerprint, secrets.token_bytes(32),
            )  # fmt: skip
            if row is None:
                version = await conn.fetchval(
                    "SELECT version FROM availability.clinics WHERE tenant_id = $1", config.tenant_id
                )
                return False, int(version)
            await self._replace_children(conn, config)
            return True, int(row["version"])

    @staticmethod
    async def _replace_children(conn: Connection, config: pb.ClinicConfig) -> None:
        # Providers and services removed from the file are kept, inactive: appointments refer to them.
        def documents(items: list[pb.Provider] | list[pb.AppointmentType]) -> list[tuple[str, str]]:
            return [(i.id, json_format.MessageToJson(i, preserving_proto_field_name=True, indent=None)) for i in items]

        for table, key, rows in (
            ("providers", "provider_id", documents(list(config.providers))),
            ("services", "service_id", documents(list(config.services))),
        ):
            await conn.execute(
                f"UPDATE availability.{table} SET active = false, updated_at = now() "  # noqa: S608 - fixed names
                f"WHERE tenant_id = $1 AND NOT ({key} = ANY($2::text[]))",
                config.tenant_id,
                [item_id for item_id, _ in rows],
            )
            await conn.executemany(
                f"""
                INSERT INTO availability.{table} (tenant_id, {key}, position, active, config)
                VALUES ($1, $2, $3, true, $4::jsonb)
                ON CONFLICT (tenant_id, {key}) DO UPDATE SET
                    position = EXCLUDED.position, active = true, config = EXCLUDED.config, updated_at = now()
                """,  # noqa: S608 - fixed names
                [(config.tenant_id, item_id, index, doc) for index, (item_id, doc) in enumerate(rows)],
            )

    async def version(self, tenant_id: str) -> int | None:
        """The clinic's configuration version (None: no such clinic): a cheap check for a change."""
        value = await self.pool.fetchval("SELECT version FROM availability.clinics WHERE tenant_id = $1", tenant_id)
        return None if value is None else int(value)

    async def get(self, tenant_id: str) -> StoredClinic | None:
        row = await self.pool.fetchrow(
            "SELECT config::text AS config, version, slot_key FROM availability.clinics WHERE tenant_id = $1",
            tenant_id,
        )
        if row is None:
            return None
        config = json_format.Parse(row["config"], pb.ClinicConfig())
        return StoredClinic(config=config, version=int(row["version"]), slot_key=bytes(row["slot_key"]))
