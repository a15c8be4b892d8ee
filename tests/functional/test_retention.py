"""Retention: idempotency keys, one-time codes, relayed outbox rows and finished SMS are purged
after their windows (rows just inside stay, just outside go, at a fixed `now`); what is still
needed never goes; the command and the background task purge the same; replicas never purge a
row twice nor deadlock; a dry run changes nothing."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from common.config import ConfigError, RetentionConfig
from common.logs import mask_phone
from common.retention import Purger, command
from devkit.processes import spawn
from services.notification.retention import sweeps as notification_sweeps
from services.notification.server import create_server as create_notification
from services.reservation.retention import sweeps as reservation_sweeps

NOW = datetime(2030, 3, 10, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
PHONE = "+12125550142"


def reservation_purger(pool: asyncpg.Pool, **kwargs: float) -> Purger:
    return Purger(pool, "reservation", reservation_sweeps(RetentionConfig()), **kwargs)  # type: ignore[arg-type]


def notification_purger(pool: asyncpg.Pool, **kwargs: float) -> Purger:
    return Purger(pool, "notification", notification_sweeps(RetentionConfig()), **kwargs)  # type: ignore[arg-type]


async def add_key(pool: asyncpg.Pool, key: str, created_at: datetime) -> None:
    await pool.execute(
        "INSERT INTO reservation.idempotency_keys (tenant_id, idempotency_key, method, response, created_at) "
        "VALUES ('acme', $1, 'Hold', '\\x00', $2)",
        key,
        created_at,
    )


async def add_code(pool: asyncpg.Pool, call_id: str, created_at: datetime, verified: bool = False) -> None:
    expires = created_at + timedelta(minutes=10)
    await pool.execute(
        "INSERT INTO reservation.otp_codes (tenant_id, phone, call_id, code_hash, salt, created_at, expires_at, "
        "verified_at) VALUES ('acme', $1, $2, '\\x01', '\\x02', $3, $4, $5)",
        PHONE, call_id, created_at, expires, created_at + timedelta(minutes=1) if verified else None,
    )  # fmt: skip


async def add_outbox(pool: asyncpg.Pool, key: str, created_at: datetime, delivered_at: datetime | None) -> None:
    # available far ahead: a running relay leaves these rows alone.
    await pool.execute(
        "INSERT INTO reservation.outbox (tenant_id, dedupe_key, topic, payload, created_at, available_at, "
        "delivered_at) VALUES ('acme', $1, 'sms', '\\x00', $2, $3, $4)",
        key, created_at, created_at + 1000 * DAY, delivered_at,
    )  # fmt: skip


async def add_freed(pool: asyncpg.Pool, cause: str, freed_at: datetime, done_at: datetime | None) -> None:
    # available far ahead: a running offer worker leaves an unhandled row alone.
    await pool.execute(
        "INSERT INTO reservation.freed_slots (tenant_id, reservation_id, provider_id, service_id, starts_at, ends_at, "
        "cause, freed_at, available_at, done_at) VALUES ('acme', gen_random_uuid(), 'dr-lee', 'cleaning', $1, $2, $3, "
        "$1, $4, $5)",
        freed_at, freed_at + HOUR, cause, freed_at + 1000 * DAY, done_at,
    )  # fmt: skip


async def add_message(
    pool: asyncpg.Pool, key: str, status: str, updated_at: datetime, *, attempts: int = 0, claimed: bool = False
) -> None:
    message_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO notification.messages (tenant_id, message_id, dedupe_key, kind, to_phone, body, status, "
        "attempts, next_attempt_at, claimed_until, created_at, updated_at) "
        "VALUES ('acme', $1, $2, 'REMINDER', $3, 'See you Tuesday', $4, $5, $6, $7, $8, $8)",
        message_id, key, PHONE, status, attempts, updated_at + 1000 * DAY,
        updated_at + 1000 * DAY if claimed else None, updated_at,
    )  # fmt: skip
    for attempt in range(1, attempts + 1):
        await pool.execute(
            "INSERT INTO notification.message_attempts (tenant_id, message_id, attempt, outcome) "
            "VALUES ('acme', $1, $2, 'sent')",
            message_id,
            attempt,
        )


async def keys(pool: asyncpg.Pool, sql: str) -> set[str]:
    return {row[0] for row in await pool.fetch(sql)}


async def seed_reservation(pool: asyncpg.Pool, now: datetime, margin: timedelta = SECOND) -> None:
    """Rows `margin` outside and inside each window at `now` (and some needed whatever their age)."""
    await add_key(pool, "old", now - 7 * DAY - margin)
    await add_key(pool, "young", now - 7 * DAY + margin)
    for key, age in (("old-reply", 7 * DAY + margin), ("young-reply", 7 * DAY - margin)):
        await pool.execute(
            "INSERT INTO reservation.tool_replies (tenant_id, reply_key, reply, created_at) "
            "VALUES ('acme', $1, '{}', $2)",
            key, now - age,
        )  # fmt: skip
    for sid, age in (("SM-old", 7 * DAY + margin), ("SM-young", 7 * DAY - margin)):
        await pool.execute(
            "INSERT INTO reservation.patient_replies (tenant_id, message_sid, phone, word, received_at) "
            "VALUES ('acme', $1, $2, 'C', $3)",
            sid, PHONE, now - age,
        )  # fmt: skip
    await add_code(pool, "expired-before-window", now - DAY - timedelta(minutes=10) - margin)
    await add_code(pool, "expires-inside-window", now - DAY - timedelta(minutes=5))  # expires 5 min inside
    await add_code(pool, "verified-inside-window", now - DAY + margin, verified=True)
    await add_outbox(pool, "relayed-long-ago", now - 30 * DAY, now - 7 * DAY - margin)
    await add_outbox(pool, "relayed-recently", now - 30 * DAY, now - 7 * DAY + margin)
    await add_outbox(pool, "never-relayed", now - 400 * DAY, None)
    # The cause column tells them apart: handled just outside, just inside, never handled.
    await add_freed(pool, "CANCELED", now - 30 * DAY, now - 7 * DAY - margin)
    await add_freed(pool, "RELEASED", now - 30 * DAY, now - 7 * DAY + margin)
    await add_freed(pool, "EXPIRED", now - 400 * DAY, None)


async def add_reply(pool: asyncpg.Pool, key: str, created_at: datetime, delivered_at: datetime | None) -> None:
    await pool.execute(
        "INSERT INTO notification.outbox (tenant_id, dedupe_key, topic, payload, created_at, available_at, "
        "delivered_at) VALUES ('acme', $1, 'patient-reply', '\\x00', $2, $3, $4)",
        key, created_at, created_at + 1000 * DAY, delivered_at,
    )  # fmt: skip


async def seed_notification(pool: asyncpg.Pool, now: datetime, margin: timedelta = SECOND) -> None:
    await add_message(pool, "delivered-31-days", "DELIVERED", now - 30 * DAY - margin, attempts=1)
    await add_message(pool, "failed-29-days", "FAILED", now - 30 * DAY + margin, attempts=2)
    await add_message(pool, "sent-over-a-year", "SENT", now - 365 * DAY - margin, attempts=2)
    await add_message(pool, "undelivered-under-a-year", "UNDELIVERED", now - 365 * DAY + margin, attempts=1)
    await add_message(pool, "queued-400-days", "QUEUED", now - 400 * DAY)
    await add_message(pool, "sending-400-days", "QUEUED", now - 400 * DAY, attempts=1, claimed=True)
    await add_reply(pool, "reply:relayed-long-ago", now - 30 * DAY, now - 7 * DAY - margin)
    await add_reply(pool, "reply:relayed-recently", now - 30 * DAY, now - 7 * DAY + margin)
    await add_reply(pool, "reply:never-relayed", now - 400 * DAY, None)


async def test_reservation_purge_takes_rows_just_outside_each_window_and_keeps_those_just_inside(
    pool: asyncpg.Pool,
) -> None:
    await seed_reservation(pool, NOW)

    removed = await reservation_purger(pool).purge(NOW)

    assert removed == {
        "idempotency_keys": 1, "tool_replies": 1, "patient_replies": 1, "freed_slots": 1, "otp_codes": 1, "outbox": 1,
    }  # fmt: skip
    assert await keys(pool, "SELECT idempotency_key FROM reservation.idempotency_keys") == {"young"}
    assert await keys(pool, "SELECT message_sid FROM reservation.patient_replies") == {"SM-young"}
    assert await keys(pool, "SELECT reply_key FROM reservation.tool_replies") == {"young-reply"}
    assert await keys(pool, "SELECT call_id FROM reservation.otp_codes") == {
        "expires-inside-window",
        "verified-inside-window",
    }
    assert await keys(pool, "SELECT dedupe_key FROM reservation.outbox") == {"relayed-recently", "never-relayed"}
    assert await keys(pool, "SELECT cause FROM reservation.freed_slots") == {"RELEASED", "EXPIRED"}


async def test_an_unrelayed_outbox_row_an_unhandled_freed_time_and_a_young_key_survive_even_a_one_day_purge(
    pool: asyncpg.Pool,
) -> None:
    await add_outbox(pool, "never-relayed", NOW - 400 * DAY, None)
    await add_key(pool, "repeat-in-an-hour", NOW - timedelta(hours=23))
    await add_freed(pool, "CANCELED", NOW - 400 * DAY, None)  # not yet handled by the offer worker

    removed = await Purger(pool, "reservation", reservation_sweeps(RetentionConfig.everything(1))).purge(NOW)

    assert removed == {
        "idempotency_keys": 0, "tool_replies": 0, "patient_replies": 0, "freed_slots": 0, "otp_codes": 0, "outbox": 0,
    }  # fmt: skip
    assert await pool.fetchval("SELECT count(*) FROM reservation.outbox") == 1
    assert await pool.fetchval("SELECT count(*) FROM reservation.idempotency_keys") == 1
    assert await pool.fetchval("SELECT count(*) FROM reservation.freed_slots") == 1


async def test_finished_message_bodies_are_emptied_and_numbers_masked_but_the_row_kept_for_audit(
    pool: asyncpg.Pool,
) -> None:
    await seed_notification(pool, NOW)

    removed = await notification_purger(pool).purge(NOW)

    # Bodies first: the message over a year old is emptied, then removed with its attempts.
    assert removed == {"message_bodies": 3, "messages": 1, "message_attempts": 2, "reply_outbox": 1}
    rows = {r["dedupe_key"]: r for r in await pool.fetch("SELECT * FROM notification.messages")}
    assert set(rows) == {
        "delivered-31-days", "failed-29-days", "undelivered-under-a-year", "queued-400-days", "sending-400-days",
    }  # fmt: skip
    emptied = rows["delivered-31-days"]
    assert (emptied["body"], emptied["to_phone"]) == ("", mask_phone(PHONE))
    assert (emptied["status"], emptied["kind"], emptied["attempts"]) == ("DELIVERED", "REMINDER", 1)
    assert rows["undelivered-under-a-year"]["body"] == ""
    for kept in ("failed-29-days", "queued-400-days", "sending-400-days"):
        assert (rows[kept]["body"], rows[kept]["to_phone"]) == ("See you Tuesday", PHONE)
    assert await pool.fetchval("SELECT count(*) FROM notification.message_attempts") == 1 + 2 + 1 + 1
    replies = await keys(pool, "SELECT dedupe_key FROM notification.outbox")
    assert replies == {"reply:relayed-recently", "reply:never-relayed"}


async def test_a_second_purge_finds_nothing_left_to_do(pool: asyncpg.Pool) -> None:
    await seed_notification(pool, NOW)
    await seed_reservation(pool, NOW)
    await notification_purger(pool).purge(NOW)
    await reservation_purger(pool).purge(NOW)

    assert set((await notification_purger(pool).purge(NOW) or {}).values()) == {0}
    assert set((await reservation_purger(pool).purge(NOW) or {}).values()) == {0}


async def snapshot(pool: asyncpg.Pool) -> list[list[asyncpg.Record]]:
    tables = ("reservation.idempotency_keys", "reservation.otp_codes", "reservation.outbox", "reservation.freed_slots",
              "notification.messages", "notification.message_attempts", "notification.outbox")  # fmt: skip
    return [await pool.fetch(f"SELECT * FROM {table} ORDER BY 1, 2") for table in tables]


async def test_dry_run_changes_nothing_and_counts_what_the_purge_then_removes(pool: asyncpg.Pool) -> None:
    await seed_reservation(pool, NOW)
    await seed_notification(pool, NOW)
    before = await snapshot(pool)

    counted = {**await reservation_purger(pool).count(NOW), **await notification_purger(pool).count(NOW)}

    assert await snapshot(pool) == before
    removed = {**(await reservation_purger(pool).purge(NOW) or {})}
    removed.update(await notification_purger(pool).purge(NOW) or {})
    assert counted == removed
    assert sum(removed.values()) > 0


async def test_batches_continue_until_every_expired_row_is_gone(pool: asyncpg.Pool) -> None:
    for n in range(25):
        await add_key(pool, f"old-{n}", NOW - 8 * DAY)
        await add_message(pool, f"old-{n}", "DELIVERED", NOW - 400 * DAY, attempts=1)

    assert (await reservation_purger(pool, batch=4, pause=0).purge(NOW) or {})["idempotency_keys"] == 25
    removed = await notification_purger(pool, batch=4, pause=0).purge(NOW)
    assert removed == {"message_bodies": 25, "messages": 25, "message_attempts": 25, "reply_outbox": 0}


async def seed_many(pool: asyncpg.Pool, count: int) -> None:
    await pool.executemany(
        "INSERT INTO reservation.idempotency_keys (tenant_id, idempotency_key, method, response, created_at) "
        "VALUES ('acme', $1, 'Hold', '\\x00', $2)",
        [(f"k-{n}", NOW - 8 * DAY) for n in range(count)],
    )
    await pool.executemany(
        "INSERT INTO notification.messages (tenant_id, dedupe_key, kind, to_phone, body, status, updated_at) "
        "VALUES ('acme', $1, 'OTHER', $2, 'x', 'DELIVERED', $3)",
        [(f"m-{n}", PHONE, NOW - 400 * DAY) for n in range(count)],
    )


async def test_two_replicas_purging_at_once_remove_each_row_once_without_deadlock(pool: asyncpg.Pool) -> None:
    await seed_many(pool, 600)
    replicas = [p for _ in range(2) for p in (reservation_purger(pool, batch=50), notification_purger(pool, batch=50))]

    results = await asyncio.wait_for(asyncio.gather(*(p.purge(NOW) for p in replicas)), 60)

    done = [r for r in results if r is not None]
    assert sum(r.get("idempotency_keys", 0) for r in done) == 600
    assert sum(r.get("messages", 0) for r in done) == 600
    assert await pool.fetchval("SELECT count(*) FROM reservation.idempotency_keys") == 0


async def test_ten_unlocked_purgers_at_once_still_take_each_row_once(pool: asyncpg.Pool) -> None:
    # Even without the advisory lock (a purger per name), SKIP LOCKED batches never take a row twice.
    await seed_many(pool, 600)
    purgers = [
        Purger(pool, f"{svc}-{n}", sweeps(RetentionConfig()), batch=20, pause=0)
        for n in range(5)
        for svc, sweeps in (("reservation", reservation_sweeps), ("notification", notification_sweeps))
    ]

    results = await asyncio.wait_for(asyncio.gather(*(p.purge(NOW) for p in purgers)), 60)

    assert sum((r or {}).get("idempotency_keys", 0) for r in results) == 600
    assert sum((r or {}).get("messages", 0) for r in results) == 600
    assert sum((r or {}).get("message_bodies", 0) for r in results) == 600


# --- the command and the background task ---------------------------------------------------------


def run_command(program: str, argv: list[str], env: Mapping[str, str]) -> int:
    sweeps = reservation_sweeps if program == "reservation" else notification_sweeps
    return command(program, argv, sweeps, env)


async def test_the_command_and_the_background_task_purge_the_same_rows(
    pool: asyncpg.Pool, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)  # the command reads the clock: an hour of margin around each window
    await seed_notification(pool, now, HOUR)
    env = {"DATABASE_URL": database_url}

    assert await asyncio.to_thread(run_command, "notification", [], env) == 0
    by_command = await snapshot(pool)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "message_bodies: removed 3", "messages: removed 1", "message_attempts: removed 2", "reply_outbox: removed 1",
    ]  # fmt: skip

    await pool.execute("TRUNCATE notification.messages, notification.message_attempts, notification.outbox")
    await seed_notification(pool, now, HOUR)
    purger = notification_purger(pool, interval=0.02)
    runtime = await create_notification("127.0.0.1", 0, pool, purger=purger)
    try:
        async with asyncio.timeout(10):
            while await pool.fetchval(  # noqa: ASYNC110 - the last sweep has run when the old reply is gone
                "SELECT EXISTS (SELECT 1 FROM notification.outbox WHERE dedupe_key = 'reply:relayed-long-ago')"
            ):
                await asyncio.sleep(0.02)
    finally:
        await runtime.stop(0)

    def comparable(tables: list[list[asyncpg.Record]]) -> list[set[tuple[object, ...]]]:
        ignored = {"message_id", "updated_at", "created_at", "next_attempt_at", "claimed_until", "at", "outbox_id"}
        return [{tuple(v for k, v in row.items() if k not in ignored) for row in table} for table in tables]

    assert comparable(await snapshot(pool)) == comparable(by_command)


async def test_command_dry_run_prints_what_it_would_remove_and_removes_nothing(
    pool: asyncpg.Pool, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await seed_reservation(pool, datetime.now(UTC), HOUR)
    before = await snapshot(pool)

    code = await asyncio.to_thread(run_command, "reservation", ["--dry-run"], {"DATABASE_URL": database_url})

    assert code == 0
    assert capsys.readouterr().out.splitlines() == [
        "idempotency_keys: would remove 1", "tool_replies: would remove 1", "patient_replies: would remove 1",
        "freed_slots: would remove 1", "otp_codes: would remove 1", "outbox: would remove 1",
    ]  # fmt: skip
    assert await snapshot(pool) == before


async def test_command_exits_1_while_another_replica_holds_the_purge(
    pool: asyncpg.Pool, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await add_key(pool, "old", datetime.now(UTC) - 8 * DAY)
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock(hashtextextended('retention:reservation', 0))")
        try:
            code = await asyncio.to_thread(run_command, "reservation", [], {"DATABASE_URL": database_url})
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtextextended('retention:reservation', 0))")

    assert code == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert await pool.fetchval("SELECT count(*) FROM reservation.idempotency_keys") == 1


async def test_command_with_days_uses_one_window_for_every_table(
    pool: asyncpg.Pool, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await add_key(pool, "three-days-old", datetime.now(UTC) - 3 * DAY)

    code = await asyncio.to_thread(run_command, "reservation", ["--days", "2"], {"DATABASE_URL": database_url})

    assert code == 0
    assert "idempotency_keys: removed 1" in capsys.readouterr().out.splitlines()


COMMAND_FAILURES = [
    ("services.reservation", ["--days", "0"], {}, 2, "--days"),
    ("services.reservation", ["--weeks", "2"], {}, 2, "--weeks"),
    ("services.reservation", [], {"IDEMPOTENCY_RETENTION_DAYS": "0"}, 2, "IDEMPOTENCY_RETENTION_DAYS"),
    ("services.notification", [], {"MESSAGE_BODY_RETENTION_DAYS": "a month"}, 2, "MESSAGE_BODY_RETENTION_DAYS"),
    ("services.notification", [], {"DATABASE_URL": ""}, 2, "DATABASE_URL"),
    ("services.notification", [], {"DATABASE_URL": "postgresql://127.0.0.1:1/none"}, 3, "database"),
]


@pytest.mark.parametrize(("module", "argv", "env", "code", "named"), COMMAND_FAILURES)
async def test_purge_command_failures_exit_with_their_code_and_one_line(
    module: str, argv: list[str], env: dict[str, str], code: int, named: str, database_url: str
) -> None:
    full_env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, **env}
    process = await spawn(module, "purge", *argv, env=full_env, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)

    assert process.returncode == code
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert named in lines[0]
    assert stdout == b""


async def test_purge_command_runs_as_a_real_process(pool: asyncpg.Pool, database_url: str) -> None:
    await add_key(pool, "old", datetime.now(UTC) - 8 * DAY)
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url}
    process = await spawn("services.reservation", "purge", env=env)
    stdout, _ = await asyncio.wait_for(process.communicate(), 30)

    assert process.returncode == 0
    assert stdout.decode().splitlines() == [
        "idempotency_keys: removed 1", "tool_replies: removed 0", "patient_replies: removed 0",
        "freed_slots: removed 0", "otp_codes: removed 0", "outbox: removed 0",
    ]  # fmt: skip


@pytest.mark.parametrize("module", ["services.reservation", "services.notification"])
async def test_a_bad_retention_variable_stops_the_service_at_start(module: str, database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "OTP_RETENTION_DAYS": "0.5"}
    process = await spawn(module, env=env, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)

    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "OTP_RETENTION_DAYS" in lines[0], lines


def test_retention_windows_default_as_documented_and_refuse_less_than_a_day() -> None:
    assert RetentionConfig.from_env({}) == RetentionConfig(7, 1, 7, 30, 365)
    assert RetentionConfig.from_env({"MESSAGE_RETENTION_DAYS": "730"}).message_days == 730
    for bad in ("0", "-1", "1.5", "week"):
        with pytest.raises(ConfigError, match="OUTBOX_RETENTION_DAYS"):
            RetentionConfig.from_env({"OUTBOX_RETENTION_DAYS": bad})
