"""The reminder worker: sends reminders as they come due, exactly once across crashes and replicas.

Not a LeasedRelay: here the claim (`FOR UPDATE SKIP LOCKED`), the text queued in reservation's
outbox and the row marked SENT are one transaction. A worker killed mid-batch rolls all of it back
(the rows are due again at once, no lease to wait out); a second worker skips the locked rows
instead of waiting for them. The outbox relay then hands the texts to notification, which
suppresses them for opted-out numbers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from booking.notification.v1 import notification_pb2
from common.db import Connection
from common.timestamps import Clock, utc_now
from services.reservation import metrics, reminders
from services.reservation.convert import sms_request
from services.reservation.reminder_repository import DueReminder, ReminderRepository
from services.reservation.repository import ReservationRepository

log = logging.getLogger("services.reservation")
BATCH = 50
POLL_SECONDS = 1.0


def reminder_key(reminder: DueReminder) -> str:
    """One text per appointment, offset and start time (a move to a new time is a new reminder)."""
    return f"reminder:{reminder.reservation_id}:{reminder.offset_minutes}:{reminder.starts_at.isoformat()}"


@dataclass
class Batch:
    """What one claim did (reminder ids), for the counters and for tests."""

    sent: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    postponed: list[int] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return len(self.sent) + len(self.skipped) + len(self.postponed)


class ReminderWorker:
    def __init__(
        self, pool: asyncpg.Pool, *, clock: Clock = utc_now, outbox_written: Callable[[], None] = lambda: None,
        batch: int = BATCH, poll_seconds: float = POLL_SECONDS,
    ) -> None:  # fmt: skip
        self.pool = pool
        self.repository = ReservationRepository(pool)
        self.clock = clock
        self.outbox_written = outbox_written
        self.batch = batch
        self.poll_seconds = poll_seconds

    async def run_once(self) -> Batch:
        """Claim the due reminders no other worker holds and settle each, in one transaction."""
        now = self.clock()

        async def work(conn: Connection) -> Batch:
            done = Batch()
            for reminder in await ReminderRepository.claim_due(conn, now, self.batch):
                await self._settle(conn, reminder, now, done)
            return done

        done = await self.repository.transaction(work)
        if done.sent:
            metrics.REMINDERS_SENT.inc(len(done.sent))
            self.outbox_written()
        for _, reason in done.skipped:
            metrics.REMINDERS_SKIPPED.labels(reason).inc()
        return done

    async def _settle(self, conn: Connection, reminder: DueReminder, now: datetime, done: Batch) -> None:
        row = await self.repository.get(conn, reminder.tenant_id, reminder.reservation_id)
        if row is None or row.status != "CONFIRMED" or row.starts_at != reminder.starts_at:
            # Cancelled or moved by a writer that has not dropped it yet: that writer's drop decides.
            await ReminderRepository.finish(conn, reminder, "DROPPED", "", now)
            return
        quiet = reminders.QuietHours(reminder.quiet_start, reminder.quiet_end)
        decision = reminders.decide(
            reminder.due_at, reminder.scheduled_at, reminder.starts_at, now, ZoneInfo(reminder.timezone), quiet
        )
        if decision.later is not None:
            await ReminderRepository.postpone(conn, reminder, decision.later)
            done.postponed.append(reminder.reminder_id)
        elif not decision.send:
            await ReminderRepository.finish(conn, reminder, "SKIPPED", decision.skip_reason, now)
            done.skipped.append((reminder.reminder_id, decision.skip_reason))
        else:
            request = sms_request(
                row, notification_pb2.MESSAGE_KIND_REMINDER, reminder.clinic_name, reminder_key(reminder)
            )
            request.to = reminder.phone
            await self.repository.enqueue_sms(conn, row.tenant_id, request.dedupe_key, request.SerializeToString())
            await ReminderRepository.finish(conn, reminder, "SENT", "", now)
            done.sent.append(reminder.reminder_id)

    async def run(self) -> None:
        """Work until cancelled: a full batch claims again at once, otherwise wait for the next poll."""
        while True:
            try:
                claimed = (await self.run_once()).claimed
            except asyncio.CancelledError:
                raise
            except Exception:  # database away: keep trying (health says NOT_SERVING meanwhile)
                log.warning("reminder worker could not reach the database", exc_info=True)
                claimed = 0
            if claimed < self.batch:
                await asyncio.sleep(self.poll_seconds)
