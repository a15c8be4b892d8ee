"""Reservation's domain series: holds active, outbox backlog (read at scrape time), bookings
made and cancelled (counted from the RPC answers, so the servicer carries no metrics code)."""

from __future__ import annotations

import asyncpg
from prometheus_client import Counter, Gauge

from booking.reservation.v1 import reservation_pb2 as pb
from common.metrics import Refresh, on_reply, refresh_outbox

SERVICE = pb.DESCRIPTOR.services_by_name["ReservationService"].full_name

HOLDS_ACTIVE = Gauge("reservation_holds_active", "Holds not yet confirmed, released or expired")
BOOKINGS_MADE = Counter("reservation_bookings_made", "Appointments confirmed (ConfirmHold answered with one)")
BOOKINGS_CANCELLED = Counter("reservation_bookings_cancelled", "Appointments cancelled (CancelAppointment)")
# Counted by the reminder worker after the commit that queued (or skipped) them.
REMINDERS_SENT = Counter("reservation_reminders_sent", "Reminder texts queued for sending")
REMINDERS_SKIPPED = Counter(
    "reservation_reminders_skipped", "Reminders not sent, by reason (booked_late, appointment_started, ...)", ["reason"]
)


def _count_confirmed(reply: pb.ConfirmHoldResponse) -> None:
    if reply.HasField("appointment") and not reply.HasField("failure"):
        BOOKINGS_MADE.inc()


def _count_cancelled(reply: pb.CancelAppointmentResponse) -> None:
    if not reply.HasField("failure"):
        BOOKINGS_CANCELLED.inc()


on_reply(f"/{SERVICE}/ConfirmHold", _count_confirmed)
on_reply(f"/{SERVICE}/CancelAppointment", _count_cancelled)


def refresher(pool: asyncpg.Pool) -> Refresh:
    async def refresh() -> None:
        held = await pool.fetchval(
            "SELECT count(*) FROM reservation.reservations WHERE status = 'HELD' AND hold_expires_at > now()"
        )
        HOLDS_ACTIVE.set(held)
        await refresh_outbox(pool, "reservation", "reservation.outbox", "delivered_at IS NULL")

    return refresh
