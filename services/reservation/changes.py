"""Writing a change of an appointment: its new status, the text it causes (queued in the same
transaction through the outbox) and its reminders (scheduled on booking, moved with it, dropped
on cancellation, in the same transaction), once per idempotency key, waking the relay after commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

import grpc

from booking.availability.v1 import availability_pb2
from booking.notification.v1 import notification_pb2
from booking.reservation.v1 import reservation_pb2 as pb
from common.db import Connection
from services.reservation import reminders, text_limits
from services.reservation.convert import appointment_of, sms_request
from services.reservation.idempotency import once
from services.reservation.reminder_repository import ReminderRepository, Schedule
from services.reservation.repository import Reservation, ReservationRepository

Rules = availability_pb2.GetBookingRulesResponse
Changed = TypeVar(
    "Changed",
    pb.ConfirmHoldResponse, pb.CancelAppointmentResponse, pb.RescheduleAppointmentResponse,
    pb.ResendConfirmationResponse,
)  # fmt: skip


class Woken(Protocol):
    """Where the relay's wake-up is found at call time (the server wires it before serving)."""

    @property
    def outbox_written(self) -> Callable[[], None]: ...


class Changes:
    def __init__(self, repository: ReservationRepository, relay: Woken) -> None:
        self.repository = repository
        self._relay = relay

    async def text(
        self, conn: Connection, row: Reservation, kind: notification_pb2.MessageKind.ValueType, rules: Rules,
        key: str = "", language: str = "",
    ) -> pb.Appointment:  # fmt: skip
        """Queue the text this change causes (in the same transaction) and answer the appointment.

        Only to a number the clinic may text (its SMS regions, a type that takes texts): a booking
        must never become a way to send texts to any number in the world."""
        textable = text_limits.phone_refusal(row.patient_phone, list(rules.sms_countries), rules.default_region)
        if row.patient_phone and textable is None:
            request = sms_request(row, kind, rules.clinic_name, key, language)
            await self.repository.enqueue_sms(conn, row.tenant_id, request.dedupe_key, request.SerializeToString())
        return appointment_of(row)

    async def settle(
        self, conn: Connection, row: Reservation, status: str, kind: notification_pb2.MessageKind.ValueType,
        rules: Rules, now: datetime, spoken: str = "", **fields: object,
    ) -> pb.Appointment:  # fmt: skip
        """Give the appointment its new status (and `fields`, columns) and queue the text that change
        causes, in `spoken` (the asking caller's language; "" = the appointment's)."""
        row = await self.repository.set_status(conn, row.tenant_id, row.reservation_id, status, now, **fields)
        if status == "CONFIRMED":
            await self.remind(conn, row, rules, now)
        elif status == "CANCELED":
            await ReminderRepository.drop(conn, row.tenant_id, row.reservation_id)
        return await self.text(conn, row, kind, rules, language=spoken)

    async def moved(
        self, conn: Connection, row: Reservation, rules: Rules, now: datetime, spoken: str = ""
    ) -> pb.Appointment:
        """An appointment at its new time: its reminders follow it, and the patient is told (in `spoken`)."""
        await ReminderRepository.drop(conn, row.tenant_id, row.reservation_id)
        await self.remind(conn, row, rules, now)
        return await self.text(conn, row, notification_pb2.MESSAGE_KIND_RESCHEDULE, rules, language=spoken)

    @staticmethod
    async def remind(conn: Connection, row: Reservation, rules: Rules, now: datetime) -> None:
        """Schedule the reminders of a confirmed appointment (to a number the clinic may text)."""
        settings = rules.rules.reminders
        textable = text_limits.phone_refusal(row.patient_phone, list(rules.sms_countries), rules.default_region)
        if not row.patient_phone or textable is not None or not settings.offsets_minutes:
            return
        zone = ZoneInfo(rules.timezone or row.timezone)
        quiet = reminders.QuietHours.parse(settings.quiet_start, settings.quiet_end)
        due = [(o, reminders.due_at(row.starts_at, o, zone, quiet)) for o in settings.offsets_minutes]
        schedule = Schedule(
            row.tenant_id, row.reservation_id, row.starts_at, due, row.patient_phone, rules.clinic_name, zone.key,
            (quiet.start, quiet.end),
        )  # fmt: skip
        await ReminderRepository.add(conn, schedule, now)

    async def change(
        self, context: grpc.aio.ServicerContext, method: str, tenant_id: str, key: str,
        response_type: type[Changed], work: Callable[[Connection], Awaitable[Changed]],
    ) -> Changed:  # fmt: skip
        """Run a change of an appointment once per idempotency key; wake the relay for its text."""
        reply = await once(self.repository, context, method, tenant_id, key, response_type, work)
        if not reply.HasField("failure"):
            self._relay.outbox_written()
        return reply
