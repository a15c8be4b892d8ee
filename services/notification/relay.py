"""Sends queued SMS: claims due messages (SKIP LOCKED + lease), sends each through the sender,
records every attempt, and retries with exponential backoff and jitter where that is safe
(services/notification/sms_errors.py). Several workers, in one process or many, never send
one message twice while they are healthy; a crashed worker's messages come due again when
its lease runs out."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from common.logs import mask_phone
from common.outbox import backoff, claim_batch
from common.timestamps import Clock, utc_now
from services.notification.senders import Sender, SendResult
from services.notification.sms_errors import Outcome

log = logging.getLogger("services.notification.relay")


@dataclass(frozen=True)
class Claimed:
    tenant_id: str
    message_id: str
    kind: str
    to_phone: str
    body: str
    attempts: int


class MessageRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        sender: Sender,
        *,
        clock: Clock = utc_now,
        lease: timedelta = timedelta(seconds=60),
        batch: int = 20,
        poll_seconds: float = 0.5,
        max_attempts: int = 8,
        base_backoff: float = 2.0,
        max_backoff: float = 600.0,
        jitter: Callable[[], float] = lambda: random.uniform(0.5, 1.0),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.pool = pool
        self.sender = sender
        self.clock = clock
        self.lease = lease
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.jitter = jitter
        self.sleep = sleep
        self.token = f"sms-{uuid.uuid4().hex[:12]}"

    def backoff(self, attempts: int) -> timedelta:
        return backoff(attempts, self.base_backoff, self.max_backoff, self.jitter())

    async def claim(self) -> list[Claimed]:
        now = self.clock()
        rows = await claim_batch(
            self.pool,
            "notification.messages",
            "message_id",
            "status = 'QUEUED' AND next_attempt_at <= $1",
            "t.tenant_id, t.message_id::text AS message_id, t.kind, t.to_phone, t.body, t.attempts",
            now=now,
            lease_until=now + self.lease,
            batch=self.batch,
            token=self.token,
        )
        return [Claimed(**dict(r)) for r in rows]

    async def run_once(self) -> int:
        """Claim one batch and send it; returns how many messages were handled."""
        claimed = await self.claim()
        await asyncio.gather(*(self._send(message) for message in claimed))
        return len(claimed)

    async def _send(self, message: Claimed) -> None:
        opted_out = await self.pool.fetchval(
            "SELECT opted_out FROM notification.opt_outs WHERE tenant_id = $1 AND phone = $2",
            message.tenant_id,
            message.to_phone,
        )
        if opted_out:  # STOP arrived after the message was queued
            await self._settle(message, "SUPPRESSED", None, SendResult(Outcome.PERMANENT, error_message="opted out"))
            return
        result = await self.sender.send(message.to_phone, message.body)
        now = self.clock()
        if result.outcome is Outcome.SENT:
            await self._settle(message, "SENT", None, result)
            return
        retry = result.outcome is Outcome.RETRY or (result.outcome is Outcome.AMBIGUOUS and message.kind != "OTP")
        if retry and message.attempts < self.max_attempts:
            await self._settle(message, "QUEUED", now + self.backoff(message.attempts), result)
            return
        await self._settle(message, "FAILED", None, result)
        if result.outcome is Outcome.OPTED_OUT:
            await self.pool.execute(
                """
                INSERT INTO notification.opt_outs (tenant_id, phone, opted_out, source) VALUES ($1, $2, true, $3)
                ON CONFLICT (tenant_id, phone) DO UPDATE
                    SET opted_out = true, source = EXCLUDED.source, updated_at = now()
                """,
                message.tenant_id,
                message.to_phone,
                f"twilio {result.error_code}",
            )
        log.warning(
            "sms not sent",
            extra={
                "to": mask_phone(message.to_phone),
                "outcome": result.outcome.value,
                "error_code": result.error_code,
            },
        )

    async def _settle(self, message: Claimed, status: str, next_attempt: datetime | None, result: SendResult) -> None:
        now = self.clock()
        # One-time codes are kept in clear only until they are handed to Twilio.
        scrub = message.kind == "OTP" and status != "QUEUED"
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """
                INSERT INTO notification.message_attempts
                    (tenant_id, message_id, attempt, at, outcome, http_status, error_code, error_message)
                VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8)
                ON CONFLICT DO NOTHING
                """,
                message.tenant_id, message.message_id, message.attempts, now, result.outcome.value,
                result.http_status, result.error_code, result.error_message,
            )  # fmt: skip
            await conn.execute(
                """
                UPDATE notification.messages SET
                    status = $4, claimed_until = NULL, updated_at = $5,
                    next_attempt_at = COALESCE($6, next_attempt_at),
                    provider_sid = CASE WHEN $7 = '' THEN provider_sid ELSE $7 END,
                    error_code = $8, error_message = $9,
                    sent_at = CASE WHEN $4 = 'SENT' THEN $5 ELSE sent_at END,
                    body = CASE WHEN $10 THEN regexp_replace(body, '[0-9]{4,8}', '******', 'g') ELSE body END
                WHERE tenant_id = $1 AND message_id = $2::uuid AND claimed_by = $3
                """,
                message.tenant_id, message.message_id, self.token, status, now, next_attempt,
                result.provider_sid, result.error_code, result.error_message, scrub,
            )  # fmt: skip

    async def run(self) -> None:
        """Send until cancelled."""
        while True:
            try:
                handled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except (asyncpg.PostgresError, OSError):
                log.warning("sms relay could not reach the database")
                handled = 0
            if handled < self.batch:
                await self.sleep(self.poll_seconds)
