"""Notification's domain series: SMS sent / failed by Twilio error code (counted by the senders)
and the message outbox backlog (read at scrape time)."""

from __future__ import annotations

import asyncpg
from prometheus_client import Counter

from common.metrics import Refresh, refresh_outbox

SMS_SENT = Counter("notification_sms_sent", "SMS accepted by the provider (or kept by the local sender)", ["sender"])
SMS_FAILED = Counter(
    "notification_sms_failed", "SMS send attempts that failed, by outcome and Twilio error code",
    ["outcome", "error_code"],
)  # fmt: skip


def refresher(pool: asyncpg.Pool) -> Refresh:
    async def refresh() -> None:
        await refresh_outbox(pool, "notification", "notification.messages", "status = 'QUEUED'")

    return refresh
