"""Sends queued SMS: claims due messages (common/relay.py: SKIP LOCKED + lease), sends each through
the sender, records every attempt, and retries with exponential backoff and jitter where that is
safe (services/notification/sms_errors.py). Several workers, in one process or many, never send
one message twice while they are healthy; a crashed worker's messages come due again when
its lease runs out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from common.logs import mask_phone
from common.relay import LeasedRelay, Pace, random_jitter
from common.timestamps import Clock, utc_now
from services.notification.repository import MESSAGE_QUEUE, ClaimedMessage, NotificationRepository, Settlement
from services.notification.senders import Sender, SendResult
from services.notification.sms_errors import Outcome

log = logging.getLogger("services.notification.relay")

SMS_PACE = Pace(lease=timedelta(seconds=60), batch=20, poll_seconds=0.5, base_backoff=2.0, max_backoff=600.0)


class MessageRelay(LeasedRelay[ClaimedMessage]):
    def __init__(
        self,
        pool: asyncpg.Pool,
        sender: Sender,
        *,
        clock: Clock = utc_now,
        max_attempts: int = 8,
        jitter: Callable[[], float] = random_jitter,
        **pace: Any,
    ) -> None:
        tuning = replace(SMS_PACE, **pace)
        super().__init__(pool, MESSAGE_QUEUE, ClaimedMessage, name="sms", pace=tuning, clock=clock, jitter=jitter)
        self.sender = sender
        self.max_attempts = max_attempts
        self.repository = NotificationRepository(pool)

    async def handle(self, items: list[ClaimedMessage]) -> int:
        """Send one claimed batch at once; every claimed message counts as handled."""
        # Messages whose earlier attempt died unrecorded go first and one by one: each looks for its
        # text at Twilio, and must not take the id of an identical text sent meanwhile by this batch.
        for message in (m for m in items if m.uncertain):
            await self._send(message)
        await asyncio.gather(*(self._send(message) for message in items if not message.uncertain))
        return len(items)

    async def _send(self, message: ClaimedMessage) -> None:
        if message.opted_out:  # STOP came after queueing
            await self._settle(message, "SUPPRESSED", None, SendResult(Outcome.PERMANENT, error_message="opted out"))
            return
        result = await self._find_or_send(message)
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
            source = f"twilio {result.error_code}"
            await self.repository.set_opt_out(message.tenant_id, message.to_phone, True, source)
        log.warning(
            "sms not sent",
            extra={
                "to": mask_phone(message.to_phone),
                "outcome": result.outcome.value,
                "error_code": result.error_code,
            },
        )

    async def _find_or_send(self, message: ClaimedMessage) -> SendResult:
        """Send, unless an earlier attempt died after Twilio accepted the text and before its
        outcome was recorded (a killed worker): then Twilio's own list says so, and the text is
        not sent a second time."""
        if message.uncertain and message.created_at is not None:
            # Same body to the same number since this message was made, and not another message's.
            sids = await self.sender.find_sent(message.to_phone, message.body, message.created_at)
            taken = await self.repository.recorded_sids(message.tenant_id, message.to_phone, sids) if sids else set()
            sid = next((sid for sid in sids if sid not in taken), None)
            if sid is not None:
                log.info("sms found already sent", extra={"to": mask_phone(message.to_phone), "provider_sid": sid})
                return SendResult(Outcome.SENT, provider_sid=sid, http_status=200)
        return await self.sender.send(message.to_phone, message.body)

    async def _settle(
        self, message: ClaimedMessage, status: str, next_attempt: datetime | None, result: SendResult
    ) -> None:
        outcome = Settlement(
            status=status, at=self.clock(), next_attempt_at=next_attempt, outcome=result.outcome.value,
            http_status=result.http_status, provider_sid=result.provider_sid, error_code=result.error_code,
            error_message=result.error_message, scrub_codes=message.kind == "OTP" and status != "QUEUED",
        )  # fmt: skip
        await self.repository.settle(message.tenant_id, message.message_id, message.attempts, self.token, outcome)
