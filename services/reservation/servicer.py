"""gRPC methods of ReservationService (thin: parse, call domain code and repository, build the reply)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import grpc
from google.protobuf.message import Message

from booking.availability.v1 import availability_pb2, availability_pb2_grpc
from booking.common.v1 import common_pb2
from booking.notification.v1 import notification_pb2, notification_pb2_grpc
from booking.reservation.v1 import reservation_pb2 as pb
from booking.reservation.v1 import reservation_pb2_grpc
from common.db import Connection
from common.grpc_errors import e164, invalid
from common.logs import mask_phone
from common.timestamps import Clock, from_timestamp, utc_now
from common.timestamps import to_timestamp as timestamp
from services.reservation import otp
from services.reservation.repository import NewReservation, Reservation, ReservationRepository, SlotTaken

log = logging.getLogger("services.reservation")
R = TypeVar("R", bound=Message)

RULES_CACHE_SECONDS = 2.0
PEER_TIMEOUT_SECONDS = 2.0
ALTERNATIVES = 5
ALTERNATIVES_CACHE_SECONDS = 1.0
C = common_pb2


def failure(cause: C.FailureCause.ValueType, message: str) -> C.Failure:
    return C.Failure(cause=cause, message=message)


class Refused(Exception):
    """A business refusal raised inside a transaction to roll it back."""

    def __init__(self, cause: C.FailureCause.ValueType, message: str) -> None:
        super().__init__(message)
        self.failure = failure(cause, message)


@dataclass
class ReservationDeps:
    pool: asyncpg.Pool
    availability: availability_pb2_grpc.AvailabilityServiceStub | None = None
    notification: notification_pb2_grpc.NotificationServiceStub | None = None
    clock: Clock = field(default=utc_now)
    # Called after a commit that added to the outbox (the relay delivers at once).
    outbox_written: Callable[[], None] = field(default=lambda: None)


STATUS = {
    "HELD": pb.RESERVATION_STATUS_HELD,
    "EXPIRED": pb.RESERVATION_STATUS_EXPIRED,
    "RELEASED": pb.RESERVATION_STATUS_RELEASED,
    "CONFIRMED": pb.RESERVATION_STATUS_CONFIRMED,
    "CANCELED": pb.RESERVATION_STATUS_CANCELED,
    "NO_SHOW": pb.RESERVATION_STATUS_NO_SHOW,
    "COMPLETED": pb.RESERVATION_STATUS_COMPLETED,
}


def slot_of(row: Reservation) -> C.Slot:
    zone = ZoneInfo(row.timezone)
    return C.Slot(
        slot_id=str(row.details.get("slot_id", "")),
        provider_id=row.provider_id,
        service_id=row.service_id,
        start=timestamp(row.starts_at),
        end=timestamp(row.ends_at),
        timezone=row.timezone,
        local_start=row.starts_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        provider_spoken_name=str(row.details.get("provider_spoken_name", "")),
        service_spoken_name=str(row.details.get("service_spoken_name", "")),
    )


def hold_of(row: Reservation, now: datetime) -> pb.Hold:
    status = row.status
    if status == "HELD" and not row.live_hold(now):
        status = "EXPIRED"  # run out, even if the sweeper has not marked it yet
    hold = pb.Hold(
        hold_id=row.reservation_id,
        tenant_id=row.tenant_id,
        slot=slot_of(row),
        patient=pb.Patient(name=row.patient_name, phone=row.patient_phone),
        call_id=row.call_id,
        status=STATUS[status],
    )
    if row.hold_expires_at is not None:
        hold.expires_at.CopyFrom(timestamp(row.hold_expires_at))
    return hold


def appointment_of(row: Reservation) -> pb.Appointment:
    appointment = pb.Appointment(
        appointment_id=row.reservation_id,
        tenant_id=row.tenant_id,
        slot=slot_of(row),
        patient=pb.Patient(name=row.patient_name, phone=row.patient_phone),
        status=STATUS[row.status],
        cancel_reason=row.cancel_reason,
    )
    if row.confirmed_at is not None:
        appointment.confirmed_at.CopyFrom(timestamp(row.confirmed_at))
    if row.canceled_at is not None:
        appointment.canceled_at.CopyFrom(timestamp(row.canceled_at))
    return appointment


APPOINTMENT_STATUSES = ("CONFIRMED", "CANCELED", "NO_SHOW", "COMPLETED")  # a hold never counts
APPOINTMENT_NOT_FOUND = "I couldn't find that appointment."


class ReservationServicer(reservation_pb2_grpc.ReservationServiceServicer):
    def __init__(self, deps: ReservationDeps) -> None:
        self.deps = deps
        self.repository = ReservationRepository(deps.pool)
        self._rules: dict[tuple[str, str], tuple[float, availability_pb2.GetBookingRulesResponse]] = {}
        self._alternatives_cache: dict[tuple[str, str, str], tuple[float, asyncio.Future[list[C.Slot]]]] = {}

    # --- helpers ---------------------------------------------------------------------------
    async def _require(self, context: grpc.aio.ServicerContext, **fields: str) -> None:
        for name, value in fields.items():
            if not value:
                await invalid(context, f"{name} is required")

    def _availability(self) -> availability_pb2_grpc.AvailabilityServiceStub:
        assert self.deps.availability is not None, "availability stub not wired"
        return self.deps.availability

    async def _peer(self, context: grpc.aio.ServicerContext, name: str, call: Awaitable[R]) -> R:
        try:
            return await call
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND):
                await context.abort(error.code(), error.details() or "")
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"{name} service unavailable ({error.code().name})")
            raise AssertionError("unreachable") from None

    async def _rules_for(
        self, context: grpc.aio.ServicerContext, tenant_id: str, service_id: str
    ) -> availability_pb2.GetBookingRulesResponse:
        key = (tenant_id, service_id)
        cached = self._rules.get(key)
        if cached is not None and time.monotonic() - cached[0] < RULES_CACHE_SECONDS:
            return cached[1]
        reply: availability_pb2.GetBookingRulesResponse = await self._peer(
            context,
            "availability",
            self._availability().GetBookingRules(
                availability_pb2.GetBookingRulesRequest(tenant_id=tenant_id, service_id=service_id),
                timeout=PEER_TIMEOUT_SECONDS,
            ),
        )
        self._rules[key] = (time.monotonic(), reply)
        return reply

    async def _alternatives(self, tenant_id: str, slot: C.Slot) -> list[C.Slot]:
        """Other free slots the same day (best effort: none if availability does not answer).

        Many callers losing the same slot at once share one lookup (for ALTERNATIVES_CACHE_SECONDS):
        suggestions may be a second old, and each is checked again when the caller picks it.
        """
        key = (tenant_id, slot.local_start[:10], slot.service_id)
        cached = self._alternatives_cache.get(key)
        if cached is None or time.monotonic() - cached[0] > ALTERNATIVES_CACHE_SECONDS:
            cached = (time.monotonic(), asyncio.ensure_future(self._find_alternatives(*key)))
            self._alternatives_cache[key] = cached
            for stale in [k for k, v in self._alternatives_cache.items() if time.monotonic() - v[0] > 60]:
                del self._alternatives_cache[stale]
        return [s for s in await asyncio.shield(cached[1]) if s.slot_id != slot.slot_id][:ALTERNATIVES]

    async def _find_alternatives(self, tenant_id: str, day: str, service_id: str) -> list[C.Slot]:
        try:
            reply = await self._availability().FindSlots(
                availability_pb2.FindSlotsRequest(
                    tenant_id=tenant_id, date=day, service_id=service_id, limit=ALTERNATIVES + 1
                ),
                timeout=PEER_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError:
            return []
        return list(reply.slots or reply.alternatives)

    async def _idempotent(
        self,
        tenant_id: str,
        key: str,
        method: str,
        response_type: type[R],
        work: Callable[[Connection], Awaitable[R]],
        context: grpc.aio.ServicerContext,
    ) -> R:
        """Run `work` once per idempotency key; a repeated key gets the stored first response."""

        async def run(conn: Connection) -> R:
            if key:
                await self.repository.lock_key(conn, tenant_id, key)
                try:
                    stored = await self.repository.stored_response(conn, tenant_id, key, method)
                except ValueError as error:
                    await invalid(context, f"idempotency_key: {error}")
                if stored is not None:
                    return response_type.FromString(stored)
            response = await work(conn)
            if key:
                await self.repository.store_response(conn, tenant_id, key, method, response.SerializeToString())
            return response

        return await self.repository.transaction(run)

    async def _sms(
        self,
        conn: Connection,
        row: Reservation,
        kind: notification_pb2.MessageKind.ValueType,
        dedupe_key: str,
        clinic_name: str,
    ) -> None:
        if not row.patient_phone:
            return
        request = notification_pb2.EnqueueSmsRequest(
            tenant_id=row.tenant_id,
            to=row.patient_phone,
            kind=kind,
            dedupe_key=dedupe_key,
            appointment=notification_pb2.AppointmentDetails(
                clinic_name=clinic_name,
                service_name=str(row.details.get("service_name") or row.details.get("service_spoken_name", "")),
                provider_name=str(row.details.get("provider_spoken_name", "")),
                start=timestamp(row.starts_at),
                timezone=row.timezone,
                appointment_id=row.reservation_id,
            ),
        )
        await self.repository.enqueue_sms(conn, row.tenant_id, dedupe_key, request.SerializeToString())

    # --- holds -----------------------------------------------------------------------------
    async def CreateHold(
        self, request: pb.CreateHoldRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateHoldResponse:
        await self._require(context, tenant_id=request.tenant_id)
        if not request.slot_id and not (request.provider_id and request.HasField("start")):
            await invalid(context, "slot_id (or provider_id and start) is required")
        phone = await e164(context, "patient.phone", request.patient.phone) if request.patient.phone else ""
        validation = await self._peer(
            context,
            "availability",
            self._availability().ValidateSlot(
                availability_pb2.ValidateSlotRequest(
                    tenant_id=request.tenant_id, slot_id=request.slot_id, provider_id=request.provider_id,
                    service_id=request.service_id, start=request.start if request.HasField("start") else None,
                ),
                timeout=PEER_TIMEOUT_SECONDS,
            ),
        )  # fmt: skip
        now = self.deps.clock()
        slot = validation.slot
        new = NewReservation(
            provider_id=slot.provider_id,
            service_id=slot.service_id,
            starts_at=from_timestamp(slot.start),
            ends_at=from_timestamp(slot.end),
            occupied_start=from_timestamp(validation.occupied.start),
            occupied_end=from_timestamp(validation.occupied.end),
            timezone=slot.timezone,
            details={
                "slot_id": slot.slot_id,
                "provider_spoken_name": slot.provider_spoken_name,
                "service_spoken_name": slot.service_spoken_name,
            },
        )
        hold_for = timedelta(minutes=min(validation.rules.hold_minutes or 10, 15))

        async def work(conn: Connection) -> pb.CreateHoldResponse:
            if not validation.bookable:
                return pb.CreateHoldResponse(failure=validation.failure)
            try:
                async with conn.transaction():  # savepoint: a refusal keeps the call's previous hold
                    # Concurrent inserts that conflict on an exclusion constraint can deadlock each
                    # other (each waits for the other's uncommitted row); taking turns per provider
                    # avoids that. The constraint still decides; this only orders the attempts.
                    await self.repository.lock_key(conn, request.tenant_id, "provider", new.provider_id)
                    if request.call_id:
                        await self.repository.release_call_holds(conn, request.tenant_id, request.call_id, now)
                    await self.repository.expire_stale_overlapping(
                        conn, request.tenant_id, new.provider_id, new.occupied_start, new.occupied_end, now
                    )
                    if phone:
                        for mine in await self.repository.patient_conflicts(
                            conn, request.tenant_id, phone, new.starts_at, new.ends_at, now
                        ):
                            if mine.provider_id == new.provider_id and mine.starts_at == new.starts_at:
                                raise Refused(
                                    C.FAILURE_CAUSE_SLOT_ALREADY_BOOKED_BY_USER, "You already have this time booked."
                                )
                            raise Refused(
                                C.FAILURE_CAUSE_OVERLAPPING_RESERVATION, "You already have an appointment at that time."
                            )
                    row = await self.repository.insert_hold(
                        conn, request.tenant_id, new, request.call_id, request.patient.name.strip()[:200], phone,
                        now + hold_for, now,
                    )  # fmt: skip
            except SlotTaken:
                return pb.CreateHoldResponse(
                    failure=failure(C.FAILURE_CAUSE_SLOT_UNAVAILABLE, "Sorry, that time was just taken.")
                )
            except Refused as refusal:
                return pb.CreateHoldResponse(failure=refusal.failure)
            return pb.CreateHoldResponse(hold=hold_of(row, now))

        reply = await self._idempotent(
            request.tenant_id, request.idempotency_key, "CreateHold", pb.CreateHoldResponse, work, context
        )
        # Outside the transaction: availability calls back into ListBusy, which needs a connection
        # of our pool; asking while holding one could starve the pool under contention.
        if reply.failure.cause == C.FAILURE_CAUSE_SLOT_UNAVAILABLE and slot.slot_id:
            reply.alternatives.extend(await self._alternatives(request.tenant_id, slot))
        return reply

    async def GetHold(self, request: pb.GetHoldRequest, context: grpc.aio.ServicerContext) -> pb.GetHoldResponse:
        await self._require(context, tenant_id=request.tenant_id, hold_id=request.hold_id)
        async with self.deps.pool.acquire() as conn:
            row = await self.repository.get(conn, request.tenant_id, request.hold_id)
        if row is None:
            return pb.GetHoldResponse(failure=failure(C.FAILURE_CAUSE_NOT_FOUND, "I couldn't find that hold."))
        return pb.GetHoldResponse(hold=hold_of(row, self.deps.clock()))

    async def ReleaseHold(
        self, request: pb.ReleaseHoldRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReleaseHoldResponse:
        await self._require(context, tenant_id=request.tenant_id, hold_id=request.hold_id)
        now = self.deps.clock()

        async def work(conn: Connection) -> bool:
            row = await self.repository.get(conn, request.tenant_id, request.hold_id, lock=True)
            if row is None or not row.live_hold(now):
                return False
            await self.repository.set_status(conn, request.tenant_id, row.reservation_id, "RELEASED", now)
            return True

        return pb.ReleaseHoldResponse(released=await self.repository.transaction(work))

    async def ReleaseCallHolds(
        self, request: pb.ReleaseCallHoldsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReleaseCallHoldsResponse:
        await self._require(context, tenant_id=request.tenant_id, call_id=request.call_id)
        now = self.deps.clock()

        async def work(conn: Connection) -> int:
            return await self.repository.release_call_holds(conn, request.tenant_id, request.call_id, now)

        return pb.ReleaseCallHoldsResponse(released=await self.repository.transaction(work))

    # --- appointments ----------------------------------------------------------------------
    async def _appointment(self, tenant_id: str, appointment_id: str) -> Reservation | None:
        """A read outside any transaction: what to ask availability before locking the row."""
        async with self.deps.pool.acquire() as conn:
            row = await self.repository.get(conn, tenant_id, appointment_id)
        return row if row is not None and row.status in APPOINTMENT_STATUSES else None

    async def ConfirmHold(
        self, request: pb.ConfirmHoldRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConfirmHoldResponse:
        await self._require(context, tenant_id=request.tenant_id)
        if not request.hold_id and not request.call_id:
            await invalid(context, "hold_id (or call_id) is required")
        async with self.deps.pool.acquire() as conn:
            if request.hold_id:
                peek = await self.repository.get(conn, request.tenant_id, request.hold_id)
            else:
                peek = await self.repository.latest_call_hold(conn, request.tenant_id, request.call_id)
        if peek is None:
            return pb.ConfirmHoldResponse(
                failure=failure(C.FAILURE_CAUSE_NOT_FOUND, "I couldn't find a held time to book.")
            )
        rules = await self._rules_for(context, request.tenant_id, peek.service_id)
        now = self.deps.clock()

        async def work(conn: Connection) -> pb.ConfirmHoldResponse:
            if peek.patient_phone:
                await self.repository.lock_key(conn, request.tenant_id, "phone", peek.patient_phone)
            row = await self.repository.get(conn, request.tenant_id, peek.reservation_id, lock=True)
            assert row is not None
            if request.call_id and row.call_id and row.call_id != request.call_id:
                return pb.ConfirmHoldResponse(
                    failure=failure(C.FAILURE_CAUSE_NOT_FOUND, "That hold belongs to another call.")
                )
            if row.status == "CONFIRMED":
                return pb.ConfirmHoldResponse(
                    failure=failure(C.FAILURE_CAUSE_SLOT_ALREADY_BOOKED_BY_USER, "That appointment is already booked.")
                )
            if not row.live_hold(now):
                if row.status == "HELD":
                    await self.repository.set_status(conn, row.tenant_id, row.reservation_id, "EXPIRED", now)
                return pb.ConfirmHoldResponse(
                    failure=failure(
                        C.FAILURE_CAUSE_LEASE_EXPIRED, "The hold on that time ran out; let's find it again."
                    )
                )
            if rules.rules.otp_required:
                verified = bool(row.patient_phone) and await self.repository.verified(
                    conn, row.tenant_id, row.patient_phone, row.call_id, now - otp.VERIFIED_FOR
                )
                if not verified:
                    return pb.ConfirmHoldResponse(
                        failure=failure(C.FAILURE_CAUSE_OTP_REQUIRED, "I need to verify your phone with a code first.")
                    )
            limit = rules.rules.max_active_appointments_per_phone
            if limit and row.patient_phone:
                if (
                    await self.repository.count_future_appointments(conn, row.tenant_id, row.patient_phone, now)
                    >= limit
                ):
                    return pb.ConfirmHoldResponse(
                        failure=failure(
                            C.FAILURE_CAUSE_USER_OVER_BOOKING_LIMIT,
                            f"You already have {limit} upcoming appointments, which is our limit.",
                        )
                    )
            row = await self.repository.set_status(
                conn, row.tenant_id, row.reservation_id, "CONFIRMED", now, confirmed_at=now
            )
            await self._sms(
                conn,
                row,
                notification_pb2.MESSAGE_KIND_CONFIRMATION,
                f"confirmation:{row.reservation_id}",
                rules.clinic_name,
            )
            return pb.ConfirmHoldResponse(appointment=appointment_of(row))

        reply = await self._idempotent(
            request.tenant_id, request.idempotency_key, "ConfirmHold", pb.ConfirmHoldResponse, work, context
        )
        if reply.HasField("appointment"):
            self.deps.outbox_written()
        return reply

    async def GetAppointment(
        self, request: pb.GetAppointmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetAppointmentResponse:
        await self._require(context, tenant_id=request.tenant_id, appointment_id=request.appointment_id)
        row = await self._appointment(request.tenant_id, request.appointment_id)
        if row is None:
            return pb.GetAppointmentResponse(failure=failure(C.FAILURE_CAUSE_NOT_FOUND, APPOINTMENT_NOT_FOUND))
        return pb.GetAppointmentResponse(appointment=appointment_of(row))

    async def FindAppointments(
        self, request: pb.FindAppointmentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.FindAppointmentsResponse:
        await self._require(context, tenant_id=request.tenant_id, phone=request.phone)
        phone = await e164(context, "phone", request.phone)
        if request.limit < 0:
            await invalid(context, "limit: must not be negative")
        rows = await self.repository.find_by_phone(
            request.tenant_id, phone, request.upcoming_only, self.deps.clock(), min(request.limit or 20, 100)
        )
        return pb.FindAppointmentsResponse(appointments=[appointment_of(r) for r in rows])

    async def CancelAppointment(
        self, request: pb.CancelAppointmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelAppointmentResponse:
        await self._require(context, tenant_id=request.tenant_id, appointment_id=request.appointment_id)
        peek = await self._appointment(request.tenant_id, request.appointment_id)
        if peek is None:
            return pb.CancelAppointmentResponse(failure=failure(C.FAILURE_CAUSE_NOT_FOUND, APPOINTMENT_NOT_FOUND))
        rules = await self._rules_for(context, request.tenant_id, peek.service_id)
        now = self.deps.clock()

        async def work(conn: Connection) -> pb.CancelAppointmentResponse:
            row = await self.repository.get(conn, request.tenant_id, request.appointment_id, lock=True)
            assert row is not None
            if row.status == "CANCELED":
                return pb.CancelAppointmentResponse(
                    appointment=appointment_of(row),
                    failure=failure(
                        C.FAILURE_CAUSE_BOOKING_ALREADY_CANCELLED, "That appointment is already cancelled."
                    ),
                )
            if row.status != "CONFIRMED":
                return pb.CancelAppointmentResponse(
                    failure=failure(C.FAILURE_CAUSE_NOT_FOUND, "That appointment can't be cancelled.")
                )
            if row.starts_at - now < timedelta(minutes=rules.rules.cancellation_cutoff_minutes):
                return pb.CancelAppointmentResponse(
                    appointment=appointment_of(row),
                    failure=failure(
                        C.FAILURE_CAUSE_OUTSIDE_CANCELLATION_WINDOW,
                        "It's too close to the appointment to cancel by phone; please call the clinic.",
                    ),
                )
            row = await self.repository.set_status(
                conn, row.tenant_id, row.reservation_id, "CANCELED", now, canceled_at=now,
                cancel_reason=request.reason.strip()[:500],
            )  # fmt: skip
            await self._sms(
                conn,
                row,
                notification_pb2.MESSAGE_KIND_CANCELLATION,
                f"cancellation:{row.reservation_id}",
                rules.clinic_name,
            )
            return pb.CancelAppointmentResponse(appointment=appointment_of(row))

        reply = await self._idempotent(
            request.tenant_id, request.idempotency_key, "CancelAppointment", pb.CancelAppointmentResponse, work, context
        )
        if not reply.HasField("failure"):
            self.deps.outbox_written()
        return reply

    async def RescheduleAppointment(
        self, request: pb.RescheduleAppointmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.RescheduleAppointmentResponse:
        await self._require(context, tenant_id=request.tenant_id, appointment_id=request.appointment_id)
        if not request.slot_id and not request.HasField("start"):
            await invalid(context, "slot_id (or start) is required")
        peek = await self._appointment(request.tenant_id, request.appointment_id)
        if peek is None:
            return pb.RescheduleAppointmentResponse(failure=failure(C.FAILURE_CAUSE_NOT_FOUND, APPOINTMENT_NOT_FOUND))
        validation = await self._peer(
            context,
            "availability",
            self._availability().ValidateSlot(
                availability_pb2.ValidateSlotRequest(
                    tenant_id=request.tenant_id, slot_id=request.slot_id,
                    provider_id=request.provider_id or peek.provider_id, service_id=peek.service_id,
                    start=request.start if request.HasField("start") else None,
                ),
                timeout=PEER_TIMEOUT_SECONDS,
            ),
        )  # fmt: skip
        rules = await self._rules_for(context, request.tenant_id, peek.service_id)
        now = self.deps.clock()
        slot = validation.slot

        async def work(conn: Connection) -> pb.RescheduleAppointmentResponse:
            row = await self.repository.get(conn, request.tenant_id, request.appointment_id, lock=True)
            assert row is not None
            if row.status == "CANCELED":
                return pb.RescheduleAppointmentResponse(
                    failure=failure(C.FAILURE_CAUSE_BOOKING_ALREADY_CANCELLED, "That appointment was cancelled.")
                )
            if row.status != "CONFIRMED":
                return pb.RescheduleAppointmentResponse(
                    failure=failure(C.FAILURE_CAUSE_NOT_FOUND, "That appointment can't be moved.")
                )
            if not validation.bookable:
                return pb.RescheduleAppointmentResponse(appointment=appointment_of(row), failure=validation.failure)
            if slot.service_id != row.service_id:
                return pb.RescheduleAppointmentResponse(
                    appointment=appointment_of(row),
                    failure=failure(
                        C.FAILURE_CAUSE_SLOT_UNAVAILABLE, "That time is for a different kind of appointment."
                    ),
                )
            if row.starts_at - now < timedelta(minutes=rules.rules.cancellation_cutoff_minutes):
                return pb.RescheduleAppointmentResponse(
                    appointment=appointment_of(row),
                    failure=failure(
                        C.FAILURE_CAUSE_OUTSIDE_CANCELLATION_WINDOW,
                        "It's too close to the appointment to move it by phone; please call the clinic.",
                    ),
                )
            new = NewReservation(
                provider_id=slot.provider_id,
                service_id=slot.service_id,
                starts_at=from_timestamp(slot.start),
                ends_at=from_timestamp(slot.end),
                occupied_start=from_timestamp(validation.occupied.start),
                occupied_end=from_timestamp(validation.occupied.end),
                timezone=slot.timezone,
                details={"slot_id": slot.slot_id, "provider_spoken_name": slot.provider_spoken_name},
            )
            try:
                async with conn.transaction():
                    await self.repository.lock_key(conn, row.tenant_id, "provider", new.provider_id)
                    await self.repository.expire_stale_overlapping(
                        conn, row.tenant_id, new.provider_id, new.occupied_start, new.occupied_end, now
                    )
                    moved = await self.repository.move(conn, row.tenant_id, row.reservation_id, new, now)
            except SlotTaken:
                return pb.RescheduleAppointmentResponse(
                    appointment=appointment_of(row),
                    failure=failure(C.FAILURE_CAUSE_SLOT_UNAVAILABLE, "Sorry, that time was just taken."),
                )
            await self._sms(
                conn, moved, notification_pb2.MESSAGE_KIND_RESCHEDULE,
                f"reschedule:{moved.reservation_id}:{int(moved.starts_at.timestamp())}:{moved.provider_id}",
                rules.clinic_name,
            )  # fmt: skip
            return pb.RescheduleAppointmentResponse(appointment=appointment_of(moved))

        reply = await self._idempotent(
            request.tenant_id, request.idempotency_key, "RescheduleAppointment", pb.RescheduleAppointmentResponse,
            work, context,
        )  # fmt: skip
        if not reply.HasField("failure"):
            self.deps.outbox_written()
        elif reply.failure.cause == C.FAILURE_CAUSE_SLOT_UNAVAILABLE and slot.slot_id:
            reply.alternatives.extend(await self._alternatives(request.tenant_id, slot))
        return reply

    async def ListBusy(self, request: pb.ListBusyRequest, context: grpc.aio.ServicerContext) -> pb.ListBusyResponse:
        await self._require(context, tenant_id=request.tenant_id)
        if not request.range.HasField("start") or not request.range.HasField("end"):
            await invalid(context, "range: start and end are required")
        start, end = from_timestamp(request.range.start), from_timestamp(request.range.end)
        if end <= start:
            await invalid(context, "range: end must be after start")
        rows = await self.repository.list_busy(
            request.tenant_id, list(request.provider_ids), start, end, self.deps.clock()
        )
        return pb.ListBusyResponse(
            busy=[
                pb.BusyInterval(
                    provider_id=row.provider_id,
                    range=C.TimeRange(start=timestamp(row.start), end=timestamp(row.end)),
                )
                for row in rows
            ]
        )

    # --- one-time codes --------------------------------------------------------------------
    async def SendOtp(self, request: pb.SendOtpRequest, context: grpc.aio.ServicerContext) -> pb.SendOtpResponse:
        await self._require(context, tenant_id=request.tenant_id, phone=request.phone)
        phone = await e164(context, "phone", request.phone)
        now = self.deps.clock()
        code = otp.new_code()
        salt = otp.new_salt()

        async def work(conn: Connection) -> tuple[pb.SendOtpResponse, str]:
            if request.idempotency_key:  # a retried tool call must not text a second code
                await self.repository.lock_key(conn, request.tenant_id, request.idempotency_key)
                stored = await self.repository.stored_response(
                    conn, request.tenant_id, request.idempotency_key, "SendOtp"
                )
                if stored is not None:
                    return pb.SendOtpResponse.FromString(stored), ""
            await self.repository.lock_key(conn, request.tenant_id, "otp", phone)
            recent = await self.repository.count_recent_codes(conn, request.tenant_id, phone, now - otp.SEND_WINDOW)
            if recent >= otp.MAX_SENDS_PER_WINDOW:
                return pb.SendOtpResponse(
                    failure=failure(
                        C.FAILURE_CAUSE_OTP_SEND_LIMIT,
                        "I've sent several codes already; please try again in a few minutes.",
                    )
                ), ""
            otp_id = await self.repository.insert_code(
                conn, request.tenant_id, phone, request.call_id, otp.digest(code, salt), salt, now, now + otp.VALIDITY
            )
            reply = pb.SendOtpResponse(sent=True, expires_at=timestamp(now + otp.VALIDITY))
            if request.idempotency_key:
                await self.repository.store_response(
                    conn, request.tenant_id, request.idempotency_key, "SendOtp", reply.SerializeToString()
                )
            return reply, otp_id

        reply, otp_id = await self.repository.transaction(work)
        if not reply.sent or not otp_id:
            return reply  # refused, or a repeat of a request already served
        # The code travels straight to notification, never through our outbox (which would keep
        # it in clear). If it cannot be handed over, the code is void and the caller may ask again.
        stub = self.deps.notification
        try:
            assert stub is not None, "notification stub not wired"
            enqueued = await stub.EnqueueSms(
                notification_pb2.EnqueueSmsRequest(
                    tenant_id=request.tenant_id, to=phone, kind=notification_pb2.MESSAGE_KIND_OTP,
                    dedupe_key=f"otp:{otp_id}", otp_code=code,
                ),
                timeout=PEER_TIMEOUT_SECONDS,
            )  # fmt: skip
        except grpc.aio.AioRpcError as error:
            log.warning(
                "one-time code not handed to notification",
                extra={"phone": mask_phone(phone), "code": error.code().name},
            )
            enqueued = None
        if enqueued is None or enqueued.HasField("failure"):
            await self.repository.transaction(
                lambda conn: self.repository.supersede_code(conn, request.tenant_id, otp_id)
            )
            if enqueued is not None:
                return pb.SendOtpResponse(failure=enqueued.failure)
            return pb.SendOtpResponse(
                failure=failure(C.FAILURE_CAUSE_UNSPECIFIED, "I couldn't send the code just now; let's try again.")
            )
        return reply

    async def VerifyOtp(self, request: pb.VerifyOtpRequest, context: grpc.aio.ServicerContext) -> pb.VerifyOtpResponse:
        await self._require(context, tenant_id=request.tenant_id, code=request.code)
        if not request.phone and not request.call_id:
            await invalid(context, "phone (or call_id) is required")
        phone = await e164(context, "phone", request.phone) if request.phone else ""
        if len(request.code) > 32:
            await invalid(context, "code: too long")
        now = self.deps.clock()

        async def work(conn: Connection) -> pb.VerifyOtpResponse:
            current = await self.repository.current_code(conn, request.tenant_id, phone, request.call_id)
            if current is None or current.verified_at is not None:
                return pb.VerifyOtpResponse(
                    failure=failure(C.FAILURE_CAUSE_OTP_EXPIRED, "That code is no longer valid; I can send a new one.")
                )
            if current.expires_at <= now:
                return pb.VerifyOtpResponse(
                    failure=failure(C.FAILURE_CAUSE_OTP_EXPIRED, "That code has expired; I can send a new one.")
                )
            if current.attempts >= otp.MAX_CHECKS:
                return pb.VerifyOtpResponse(
                    failure=failure(
                        C.FAILURE_CAUSE_OTP_MAX_ATTEMPTS, "Too many tries for that code; I can send a new one."
                    )
                )
            right = otp.matches(request.code, current.salt, current.code_hash)
            await self.repository.record_check(conn, request.tenant_id, current.otp_id, now if right else None)
            left = otp.MAX_CHECKS - current.attempts - 1
            if not right:
                return pb.VerifyOtpResponse(
                    attempts_left=left, failure=failure(C.FAILURE_CAUSE_OTP_INVALID, "That code doesn't match.")
                )
            return pb.VerifyOtpResponse(verified=True, attempts_left=left)

        return await self.repository.transaction(work)


class HoldSweeper:
    """Marks run-out holds EXPIRED for reporting. Correctness never depends on it."""

    def __init__(self, repository: ReservationRepository, clock: Clock, interval: float = 30.0) -> None:
        self.repository = repository
        self.clock = clock
        self.interval = interval

    async def run(self) -> None:
        while True:
            try:
                expired = await self.repository.expire_holds(self.clock())
                if expired:
                    log.info("expired holds", extra={"count": expired})
            except (asyncpg.PostgresError, OSError):
                log.warning("hold sweeper could not reach the database")
            await asyncio.sleep(self.interval)
