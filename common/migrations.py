"""Migration runner: numbered SQL files in migrations/, applied once each, in order.

Used by `make`, by every service at start and by the tests. A session advisory lock
serialises simultaneous runners; each file runs in its own transaction and is
recorded with its SHA-256, and an applied file that was edited since is an error.

    python -m common.migrations            # apply pending migrations to $DATABASE_URL (or: booking migrate)

Exit codes: 0 applied or up to date, 1 an applied file was edited, 2 DATABASE_URL unset,
3 the database could not be reached (one line naming its host and port).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from common.db_errors import DATABASE_ERRORS, describe
from common.exits import fail

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Arbitrary constant shared by every runner of this project.
ADVISORY_LOCK_KEY = 7_402_118_311
_FILE_NAME = re.compile(r"^(\d{4})([a-z]?)_[a-z0-9_]+\.sql$")
# A lettered file (0011b_...) is one more migration of its number, applied after the plain one
# (file-name order). Its version lives above every plain number, so existing versions never change.
LETTERED_BASE = 1_000_000


class MigrationError(RuntimeError):
    """The migrations on disk do not match what the database has applied."""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file as read from migrations/."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def version_of(number: str, letter: str) -> int:
    """0007 -> 7; 0011b -> 1_001_102 (number * 100 + the letter's place, above LETTERED_BASE)."""
    if not letter:
        return int(number)
    return LETTERED_BASE + int(number) * 100 + ord(letter) - ord("a") + 1


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_what.sql (or NNNNb_what.sql)")
        migrations.append(Migration(version_of(match.group(1), match.group(2)), path.name, path.read_text()))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number")
    return migrations


async def apply_migrations(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; return the names applied by this call."""
    migrations = discover(directory)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
        try:
            return await _apply_locked(conn, migrations)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
    finally:
        await conn.close()


async def _apply_locked(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    await conn.execute(
        """
        CREATE TABLE IF NOT EXISTS public.schema_migrations (
            version    int         PRIMARY KEY,
            name       text        NOT NULL,
            checksum   text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    rows = await conn.fetch("SELECT version, name, checksum FROM public.schema_migrations")
    applied = {row["version"]: row for row in rows}
    for migration in migrations:
        row = applied.get(migration.version)
        if row is not None and row["checksum"] != migration.checksum:
            raise MigrationError(
                f"{migration.name} was edited after it was applied "
                "(add a new migration instead of changing an applied one)"
            )
    done: list[str] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO public.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
        done.append(migration.name)
    return done


def main() -> int:
    dsn = os.environ.get("DATABASE_URL", "")
    if not dsn:
        print("common.migrations: configuration error: DATABASE_URL is required but not set", file=sys.stderr)
        return 2
    try:
        done = asyncio.run(apply_migrations(dsn))
    except MigrationError as error:
        return fail("common.migrations", str(error), 1)
    except DATABASE_ERRORS as error:
        return fail("common.migrations", describe(dsn, error), 3)
    print(f"migrations: applied {len(done)}" + (f" ({', '.join(done)})" if done else " (up to date)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
