"""The appointment paths of ReservationService: hear them (Get, Find), cancel, move, and text the
confirmation again. Each first decides whether the asker may (identity.py): a request with a
`caller` acts for a patient and sees nothing of an appointment that is not shown to be theirs;
a request without one comes from the clinic's own systems."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

import grpc

from booking.availability.v1 import availability_pb2
from booking.common.v1 import common_pb2 as C
from booking.notification.v1 import notification_pb2
from booking.reservation.v1 import reservation_pb2 as pb
from common.db import Connection
from common.grpc_errors import e164, invalid
from services.reservation import identity, policy
from services.reservation.changes import Changes
from services.reservation.checks import language, require
from services.reservation.convert import appointment_of, failure, new_reservation, resend_key
from services.reservation.otp_repository import OtpRepository
from services.reservation.peers import Peers
from services.reservation.policy import Refusal
from services.reservation.repository import NewReservation, Reservation, ReservationRepository, SlotTaken
from services.reservation.resend_repository import ResendRepository

if TYPE_CHECKING:
    from services.reservation.servicer import ReservationDeps

Context: TypeAlias = grpc.aio.ServicerContext
FIND_LIMIT_DEFAULT, FIND_LIMIT_MAX = 20, 100
CONFIRMATION = notification_pb2.MESSAGE_KIND_CONFIRMATION
ById = (
    pb.GetAppointmentRequest | pb.CancelAppointmentRequest | pb.RescheduleAppointmentRequest
    | pb.ResendConfirmationRequest
)  # fmt: skip
Asking = ById | pb.FindAppointmentsRequest


def caller_of(request: Asking) -> pb.Caller | None:
    """Who asks for a patient; None when the clinic's own systems ask."""
    return request.caller if request.HasField("caller") else None


async def spoken_language(context: Context, request: ById) -> str:
    """The asking caller's language ("" without a caller: the appointment's own)."""
    return await language(context, "caller.language", request.caller.language)


class AppointmentRpcs:
    """The appointment methods of ReservationService (mixed into the servicer, which sets these)."""

    deps: ReservationDeps
    repository: ReservationRepository
    peers: Peers
    changes: Changes

    # --- who may ---------------------------------------------------------------------------
    async def _may_act(self, context: Context, tenant_id: str, caller: pb.Caller, phone: str) -> bool:
        rules = await self.peers.rules(context, tenant_id, "")  # the clinic's own rule, not a service's
        since = identity.verified_since(self.deps.clock())
        async with self.deps.pool.acquire() as conn:
            verified = await OtpRepository.verified_phones(conn, tenant_id, caller.call_id, since)
        return identity.may_act(phone, caller.caller_phone, verified, rules.rules.verify_changes_by_code)

    async def _appointment(self, tenant_id: str, appointment_id: str) -> Reservation | None:
        """A read outside any transaction: what to decide and ask availability before locking the row."""
        async with self.deps.pool.acquire() as conn:
            row = await self.repository.get(conn, tenant_id, appointment_id)
        return row if row is not None and row.status in policy.APPOINTMENT_STATUSES else None

    async def _owned(self, context: Context, request: ById) -> Reservation | Refusal:
        """The appointment, if the asker may act on it. Its phone never changes once it is an
        appointment, so deciding on this read holds for the transaction that follows."""
        await require(context, tenant_id=request.tenant_id, appointment_id=request.appointment_id)
        tenant_id, caller = request.tenant_id, caller_of(request)
        row = await self._appointment(tenant_id, request.appointment_id)
        if caller is None:
            return row if row is not None else policy.APPOINTMENT_NOT_FOUND
        # An unknown id takes the same path and answer as another patient's: existence is not told.
        mine = await self._may_act(context, tenant_id, caller, row.patient_phone if row is not None else "")
        return row if row is not None and mine else identity.NOT_THE_CALLERS

    # --- hear ------------------------------------------------------------------------------
    async def GetAppointment(self, request: pb.GetAppointmentRequest, context: Context) -> pb.GetAppointmentResponse:
        row = await self._owned(context, request)
        if isinstance(row, Refusal):
            return pb.GetAppointmentResponse(failure=failure(row))
        return pb.GetAppointmentResponse(appointment=appointment_of(row))

    async def FindAppointments(
        self, request: pb.FindAppointmentsRequest, context: Context
    ) -> pb.FindAppointmentsResponse:
        await require(context, tenant_id=request.tenant_id, phone=request.phone)
        phone = await e164(context, "phone", request.phone)
        if request.limit < 0:
            await invalid(context, "limit: must not be negative")
        caller = caller_of(request)
        if caller is not None and not await self._may_act(context, request.tenant_id, caller, phone):
            return pb.FindAppointmentsResponse(failure=failure(identity.PHONE_NOT_THE_CALLERS))
        rows = await self.repository.find_by_phone(
            request.tenant_id, phone, request.upcoming_only, self.deps.clock(),
            min(request.limit or FIND_LIMIT_DEFAULT, FIND_LIMIT_MAX),
        )  # fmt: skip
        return pb.FindAppointmentsResponse(appointments=[appointment_of(r) for r in rows])

    # --- change ----------------------------------------------------------------------------
    async def CancelAppointment(
        self, request: pb.CancelAppointmentRequest, context: Context
    ) -> pb.CancelAppointmentResponse:
        peek = await self._owned(context, request)
        if isinstance(peek, Refusal):
            return pb.CancelAppointmentResponse(failure=failure(peek))
        rules = await self.peers.rules(context, request.tenant_id, peek.service_id)
        now, spoken = self.deps.clock(), await spoken_language(context, request)

        async def work(conn: Connection) -> pb.CancelAppointmentResponse:
            row = await self.repository.get(conn, request.tenant_id, request.appointment_id, lock=True)
            assert row is not None
            refusal = policy.cancel_refusal(row.status, row.starts_at, now, rules.rules.cancellation_cutoff_minutes)
            if refusal is not None:
                # What it is now is told with every refusal but "not an appointment one can cancel".
                shown = None if refusal.cause == "NOT_FOUND" else appointment_of(row)
                return pb.CancelAppointmentResponse(appointment=shown, failure=failure(refusal))
            cancelled = await self.changes.settle(
                conn, row, "CANCELED", notification_pb2.MESSAGE_KIND_CANCELLATION, rules, now, spoken,
                canceled_at=now, cancel_reason=request.reason.strip()[:500],
            )  # fmt: skip
            return pb.CancelAppointmentResponse(appointment=cancelled)

        return await self.changes.change(
            context, "CancelAppointment", request.tenant_id, request.idempotency_key, pb.CancelAppointmentResponse, work
        )

    async def RescheduleAppointment(
        self, request: pb.RescheduleAppointmentRequest, context: Context
    ) -> pb.RescheduleAppointmentResponse:
        if not request.slot_id and not request.HasField("start"):
            await invalid(context, "slot_id (or start) is required")
        peek = await self._owned(context, request)
        if isinstance(peek, Refusal):
            return pb.RescheduleAppointmentResponse(failure=failure(peek))
        validation = await self.peers.validate(
            context,
            availability_pb2.ValidateSlotRequest(
                tenant_id=request.tenant_id, slot_id=request.slot_id,
                provider_id=request.provider_id or peek.provider_id, service_id=peek.service_id,
                start=request.start if request.HasField("start") else None,
            ),
        )  # fmt: skip
        rules = await self.peers.rules(context, request.tenant_id, peek.service_id)
        now, spoken = self.deps.clock(), await spoken_language(context, request)

        async def work(conn: Connection) -> pb.RescheduleAppointmentResponse:
            row = await self.repository.get(conn, request.tenant_id, request.appointment_id, lock=True)
            assert row is not None
            refusal = policy.status_refusal(row.status)
            if refusal is not None:
                return pb.RescheduleAppointmentResponse(failure=failure(refusal))
            if not validation.bookable:
                return pb.RescheduleAppointmentResponse(appointment=appointment_of(row), failure=validation.failure)
            cutoff = rules.rules.cancellation_cutoff_minutes
            refusal = policy.move_refusal(row.service_id, validation.slot.service_id, row.starts_at, now, cutoff)
            if refusal is None:
                moved = await self._move(conn, row, new_reservation(validation, with_service_name=False), now)
                if moved is not None:
                    appointment = await self.changes.moved(conn, moved, rules, now, spoken)
                    return pb.RescheduleAppointmentResponse(appointment=appointment)
            failed = failure(refusal or policy.SLOT_TAKEN)  # no refusal: another booking took the time first
            return pb.RescheduleAppointmentResponse(appointment=appointment_of(row), failure=failed)

        reply = await self.changes.change(
            context, "RescheduleAppointment", request.tenant_id, request.idempotency_key,
            pb.RescheduleAppointmentResponse, work,
        )  # fmt: skip
        if reply.failure.cause == C.FAILURE_CAUSE_SLOT_UNAVAILABLE and validation.slot.slot_id:
            reply.alternatives.extend(await self.peers.alternatives(request.tenant_id, validation.slot))
        return reply

    async def _move(self, conn: Connection, row: Reservation, new: NewReservation, now: datetime) -> Reservation | None:
        """The appointment at its new time, or None when another booking took that time first."""
        try:
            async with conn.transaction():
                await self.repository.lock_key(conn, row.tenant_id, "provider", new.provider_id)
                await self.repository.expire_stale_overlapping(
                    conn, row.tenant_id, new.provider_id, new.occupied_start, new.occupied_end, now
                )
                return await self.repository.move(conn, row.tenant_id, row.reservation_id, new, now)
        except SlotTaken:
            return None

    # --- text again ------------------------------------------------------------------------
    async def ResendConfirmation(
        self, request: pb.ResendConfirmationRequest, context: Context
    ) -> pb.ResendConfirmationResponse:
        caller = caller_of(request)
        peek = await self._owned(context, request)
        if isinstance(peek, Refusal):
            return pb.ResendConfirmationResponse(failure=failure(peek))
        rules = await self.peers.rules(context, request.tenant_id, peek.service_id)
        now, spoken = self.deps.clock(), await spoken_language(context, request)
        # Once per version per call; the clinic's systems (no call) once per version per request key.
        asked_by = caller.call_id if caller is not None and caller.call_id else request.idempotency_key

        async def work(conn: Connection) -> pb.ResendConfirmationResponse:
            # The row lock queues concurrent re-sends of one appointment: one of them writes the text.
            row = await self.repository.get(conn, request.tenant_id, request.appointment_id, lock=True)
            assert row is not None
            refusal = policy.status_refusal(row.status) or (None if row.patient_phone else policy.NO_PHONE)
            if refusal is not None:
                return pb.ResendConfirmationResponse(failure=failure(refusal))
            sent = pb.ResendConfirmationResponse(sent=True, phone_ending=row.patient_phone[-2:])
            if await ResendRepository.already_resent(conn, row.tenant_id, row.reservation_id, row.version, asked_by):
                return sent  # this version is already on its way to them
            since = policy.resend_window_start(now)
            refusal = policy.resend_refusal(
                await ResendRepository.count_since(conn, row.tenant_id, row.reservation_id, since)
            )
            if refusal is not None:
                return pb.ResendConfirmationResponse(failure=failure(refusal))
            await ResendRepository.record(conn, row.tenant_id, row.reservation_id, row.version, asked_by, now)
            await self.changes.text(conn, row, CONFIRMATION, rules, key=resend_key(row, asked_by), language=spoken)
            return sent

        return await self.changes.change(
            context, "ResendConfirmation", request.tenant_id, request.idempotency_key, pb.ResendConfirmationResponse,
            work,
        )  # fmt: skip
