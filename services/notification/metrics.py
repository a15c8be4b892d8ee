"""Notification's domain series: SMS sent / failed by Twilio error code (counted by the senders)
and the backlogs of the message queue and of patients' replies not yet taken by reservation (read
at scrape time)."""

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
        await refresh_outbox(pool, "notification-replies", "notification.outbox", "delivered_at IS NULL")

    return refresh
