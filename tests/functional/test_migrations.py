"""The migration runner and the schema's no-double-booking constraint, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from common.migrations import MIGRATIONS_DIR, MigrationError, apply_migrations, discover, version_of
from tests.conftest import create_database, drop_database


@pytest.fixture
async def empty_db(admin_url: str) -> AsyncIterator[str]:
    url = await create_database(admin_url, "migr")
    yield url
    await drop_database(admin_url, url)


async def applied_versions(url: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT version FROM public.schema_migrations ORDER BY version")
    finally:
        await conn.close()
    return [r["version"] for r in rows]


async def test_applies_every_file_on_an_empty_database_then_rerun_is_a_noop(empty_db: str) -> None:
    files = discover()
    first = await apply_migrations(empty_db)
    assert first == [m.name for m in files]
    assert await apply_migrations(empty_db) == []
    assert await applied_versions(empty_db) == sorted(m.version for m in files)


async def test_a_lettered_file_runs_after_its_number_and_before_the_next(empty_db: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    directory.mkdir()
    for name in ("0001_a.sql", "0002_c.sql", "0001b_b.sql"):
        (directory / name).write_text(f"CREATE TABLE public.t_{name[:5]} (x int);")
    assert await apply_migrations(empty_db, directory) == ["0001_a.sql", "0001b_b.sql", "0002_c.sql"]
    assert await applied_versions(empty_db) == [1, 2, version_of("0001", "b")]
    assert version_of("0011", "b") == 1_001_102 and version_of("0011", "") == 11
    (directory / "0001x y.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_what"):
        discover(directory)


async def test_an_edited_applied_file_is_refused_with_its_name(empty_db: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    await apply_migrations(empty_db, directory)
    edited = sorted(directory.glob("*.sql"))[1]
    edited.write_text(edited.read_text() + "\n-- sneaky edit\n")
    with pytest.raises(MigrationError, match=edited.name):
        await apply_migrations(empty_db, directory)


async def test_a_new_file_after_applied_ones_is_applied_alone(empty_db: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    await apply_migrations(empty_db, directory)
    (directory / "9999_extra.sql").write_text("CREATE TABLE public.extra (x int PRIMARY KEY);")
    assert await apply_migrations(empty_db, directory) == ["9999_extra.sql"]


async def test_two_runners_at_once_both_succeed_and_apply_each_file_once(empty_db: str) -> None:
    results = await asyncio.gather(*(apply_migrations(empty_db) for _ in range(4)))
    names = [name for result in results for name in result]
    assert sorted(names) == sorted(m.name for m in discover())  # each applied exactly once
    assert await applied_versions(empty_db) == sorted(m.version for m in discover())


async def insert_reservation(
    pool: asyncpg.Pool, tenant: str, provider: str, start: datetime, minutes: int, status: str = "CONFIRMED"
) -> None:
    end = start + timedelta(minutes=minutes)
    await pool.execute(
        """
        INSERT INTO reservation.reservations
            (tenant_id, provider_id, service_id, starts_at, ends_at, occupied, timezone, status, hold_expires_at)
        VALUES ($1, $2, 'cleaning', $3, $4, tstzrange($3, $4), 'UTC', $5, $4)
        """,
        tenant,
        provider,
        start,
        end,
        status,
    )


async def test_exclusion_constraint_rejects_overlap_for_one_provider_only(pool: asyncpg.Pool) -> None:
    start = datetime(2030, 1, 7, 14, 0, tzinfo=UTC)
    await insert_reservation(pool, "acme", "dr-lee", start, 30)
    with pytest.raises(asyncpg.ExclusionViolationError) as caught:
        await insert_reservation(pool, "acme", "dr-lee", start + timedelta(minutes=15), 60, "HELD")
    assert caught.value.sqlstate == "23P01"
    # Same time, another provider; same provider, another tenant; adjacent slot: all fine.
    await insert_reservation(pool, "acme", "dr-kim", start, 30)
    await insert_reservation(pool, "other", "dr-lee", start, 30)
    await insert_reservation(pool, "acme", "dr-lee", start + timedelta(minutes=30), 30)
    # Inactive rows (cancelled, expired, released) never block.
    for status in ("CANCELED", "EXPIRED", "RELEASED"):
        await insert_reservation(pool, "acme", "dr-lee", start, 30, status)
    count = await pool.fetchval("SELECT count(*) FROM reservation.reservations")
    assert count == 7


async def test_reservations_are_never_deleted(pool: asyncpg.Pool) -> None:
    await insert_reservation(pool, "acme", "dr-lee", datetime(2030, 1, 7, 9, tzinfo=UTC), 30)
    with pytest.raises(asyncpg.RaiseError, match="never deleted"):
        await pool.execute("DELETE FROM reservation.reservations")
    history = await pool.fetchval("SELECT count(*) FROM reservation.reservation_events")
    assert history == 1
