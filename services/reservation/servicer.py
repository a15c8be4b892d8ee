"""gRPC methods of ReservationService (thin: read the request, ask the repository and the policy,
build the reply). Rules live in policy.py, conversions in convert.py, calls to peers in peers.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from booking.availability.v1 import availability_pb2, availability_pb2_grpc
from booking.common.v1 import common_pb2 as C
from booking.notification.v1 import notification_pb2, notification_pb2_grpc
from booking.reservation.v1 import reservation_pb2 as pb
from booking.reservation.v1 import reservation_pb2_grpc
from common.db import Connection
from common.grpc_errors import e164, invalid
from common.timestamps import Clock, from_timestamp, utc_now
from common.timestamps import to_timestamp as timestamp
from services.reservation import policy, replies
from services.reservation.appointments import AppointmentRpcs
from services.reservation.changes import Changes
from services.reservation.checks import language, require
from services.reservation.codes import OneTimeCodes, verified_number
from services.reservation.convert import failure, hold_of, new_reservation
from services.reservation.idempotency import once
from services.reservation.live_schedule import LiveScheduleRpcs
from services.reservation.patient_reply import PatientReply, first_word
from services.reservation.peers import Peers
from services.reservation.policy import Refusal
from services.reservation.repository import NewReservation, Reservation, ReservationRepository, SlotTaken
from services.reservation.schedule import ScheduleRpcs
from services.reservation.tool_replies import ToolReplyRpcs
from services.reservation.waitlist import WaitlistRpcs

Rules = availability_pb2.GetBookingRulesResponse


class Refused(Exception):
    """A business refusal raised inside a transaction to roll it back."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.cause)
        self.refusal = refusal


@dataclass
class ReservationDeps:
    pool: asyncpg.Pool
    availability: availability_pb2_grpc.AvailabilityServiceStub | None = None
    notification: notification_pb2_grpc.NotificationServiceStub | None = None
    clock: Clock = field(default=utc_now)
    # Called after a commit that added to the outbox (the relay delivers at once).
    outbox_written: Callable[[], None] = field(default=lambda: None)


def _start(request: pb.CreateHoldRequest) -> Timestamp | None:
    return request.start if request.HasField("start") else None


class ReservationServicer(
    AppointmentRpcs, ScheduleRpcs, LiveScheduleRpcs, ToolReplyRpcs, WaitlistRpcs,
    reservation_pb2_grpc.ReservationServiceServicer,
):
    def __init__(self, deps: ReservationDeps) -> None:
        self.deps = deps
        self.pool = deps.pool
        self.repository = ReservationRepository(deps.pool)
        self.peers = Peers(deps)
        self.codes = OneTimeCodes(self.repository, self.peers, deps.clock)
        self.changes = Changes(self.repository, deps)
        self._settle, self._change = self.changes.settle, self.changes.change

    # --- patients' text replies -------------------------------------------------------------
    async def HandlePatientReply(
        self, request: pb.HandlePatientReplyRequest, context: grpc.aio.ServicerContext
    ) -> pb.HandlePatientReplyResponse:
        await require(context, tenant_id=request.tenant_id)
        phone = await e164(context, "phone", request.phone)
        reply = PatientReply(
            tenant_id=request.tenant_id, phone=phone, body=request.body, message_sid=request.message_sid,
            word=first_word(request.body), received_at=self.deps.clock(),
        )  # fmt: skip
        try:
            return await replies.answer(self.deps, reply)
        except grpc.aio.AioRpcError as error:  # a peer the answer needs is away: the sender may retry
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"availability service unavailable ({error.code().name})")
            raise AssertionError("unreachable") from None

    # --- holds -----------------------------------------------------------------------------
    async def CreateHold(
        self, request: pb.CreateHoldRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateHoldResponse:
        await require(context, tenant_id=request.tenant_id)
        if not request.slot_id and not request.HasField("start"):
            await invalid(context, "slot_id (or start) is required")
        phone = await e164(context, "patient.phone", request.patient.phone) if request.patient.phone else ""
        request.language = await language(context, "language", request.language)
        # Passed on unchanged: without provider_id, availability picks a provider free at that time.
        validation = await self.peers.validate(
            context,
            availability_pb2.ValidateSlotRequest(
                tenant_id=request.tenant_id, slot_id=request.slot_id, provider_id=request.provider_id,
                service_id=request.service_id, start=_start(request),
            ),
        )  # fmt: skip
        now = self.deps.clock()
        new = new_reservation(validation, with_service_name=True)
        expires_at = now + policy.hold_length(validation.rules.hold_minutes)

        async def work(conn: Connection) -> pb.CreateHoldResponse:
            if not validation.bookable:
                return pb.CreateHoldResponse(failure=validation.failure)
            try:
                row = await self._hold(conn, request, new, phone, expires_at, now)
            except SlotTaken:
                return pb.CreateHoldResponse(failure=failure(policy.SLOT_TAKEN))
            except Refused as refused:
                return pb.CreateHoldResponse(failure=failure(refused.refusal))
            return pb.CreateHoldResponse(hold=hold_of(row, now))

        reply = await once(
            self.repository, context, "CreateHold", request.tenant_id, request.idempotency_key,
            pb.CreateHoldResponse, work,
        )  # fmt: skip
        # Outside the transaction: availability calls back into ListBusy, which needs a connection
        # of our pool; asking while holding one could starve the pool under contention.
        if reply.failure.cause == C.FAILURE_CAUSE_SLOT_UNAVAILABLE and validation.slot.slot_id:
            reply.alternatives.extend(await self.peers.alternatives(request.tenant_id, validation.slot))
        return reply

    async def _hold(
        self, conn: Connection, request: pb.CreateHoldRequest, new: NewReservation, phone: str,
        expires_at: datetime, now: datetime,
    ) -> Reservation:  # fmt: skip
        tenant_id = request.tenant_id
        async with conn.transaction():  # savepoint: a refusal keeps the call's previous hold
            # Concurrent inserts that conflict on an exclusion constraint can deadlock each
            # other (each waits for the other's uncommitted row); taking turns per provider
            # avoids that. The constraint still decides; this only orders the attempts. Then the
            # call's earlier hold is released and run-out holds on this time are marked EXPIRED.
            await self.repository.clear_for_hold(conn, tenant_id, new, request.call_id, now)
            if phone:
                mine = await self.repository.patient_conflicts(conn, tenant_id, phone, new.starts_at, new.ends_at, now)
                refusal = policy.own_conflict(
                    [(r.provider_id, r.starts_at) for r in mine], new.provider_id, new.starts_at
                )
                if refusal is not None:
                    raise Refused(refusal)
            return await self.repository.insert_hold(
                conn, tenant_id, new, request.call_id, request.patient.name.strip()[:200], phone, expires_at, now,
                request.language,
            )  # fmt: skip

    async def GetHold(self, request: pb.GetHoldRequest, context: grpc.aio.ServicerContext) -> pb.GetHoldResponse:
        await require(context, tenant_id=request.tenant_id, hold_id=request.hold_id)
        async with self.deps.pool.acquire() as conn:
            row = await self.repository.get(conn, request.tenant_id, request.hold_id)
        if row is None:
            return pb.GetHoldResponse(failure=failure(policy.HOLD_NOT_FOUND))
        return pb.GetHoldResponse(hold=hold_of(row, self.deps.clock()))

    async def ReleaseHold(
        self, request: pb.ReleaseHoldRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReleaseHoldResponse:
        await require(context, tenant_id=request.tenant_id, hold_id=request.hold_id)
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
        await require(context, tenant_id=request.tenant_id, call_id=request.call_id)
        tenant_id, call_id, now = request.tenant_id, request.call_id, self.deps.clock()
        released = await self.repository.transaction(
            lambda conn: self.repository.release_call_holds(conn, tenant_id, call_id, now)
        )
        return pb.ReleaseCallHoldsResponse(released=released)

    async def ConfirmHold(
        self, request: pb.ConfirmHoldRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConfirmHoldResponse:
        await require(context, tenant_id=request.tenant_id)
        if not request.hold_id and not request.call_id:
            await invalid(context, "hold_id (or call_id) is required")
        spoken = await language(context, "language", request.language)
        async with self.deps.pool.acquire() as conn:
            if request.hold_id:
                peek = await self.repository.get(conn, request.tenant_id, request.hold_id)
            else:
                peek = await self.repository.latest_call_hold(conn, request.tenant_id, request.call_id)
        if peek is None:
            return pb.ConfirmHoldResponse(failure=failure(policy.HOLD_NOT_FOUND))
        rules = await self.peers.rules(context, request.tenant_id, peek.service_id)
        now = self.deps.clock()

        async def work(conn: Connection) -> pb.ConfirmHoldResponse:
            if peek.patient_phone:
                await self.repository.lock_key(conn, request.tenant_id, "phone", peek.patient_phone)
            row = await self.repository.get(conn, request.tenant_id, peek.reservation_id, lock=True)
            assert row is not None
            checked = await self._confirm_refusal(conn, row, request.call_id, rules, now)
            if isinstance(checked, Refusal):
                return pb.ConfirmHoldResponse(failure=failure(checked))
            # Booked under the number the caller proved to hold (recorded on the row; the
            # confirmation text goes there).
            moved: dict[str, str] = {"patient_phone": checked} if checked != row.patient_phone else {}
            if spoken and spoken != row.language:  # the language the caller speaks now
                moved["language"] = spoken
            confirmed = await self._settle(
                conn, row, "CONFIRMED", notification_pb2.MESSAGE_KIND_CONFIRMATION, rules, now, confirmed_at=now,
                **moved,
            )  # fmt: skip
            return pb.ConfirmHoldResponse(appointment=confirmed)

        return await self._change(
            context, "ConfirmHold", request.tenant_id, request.idempotency_key, pb.ConfirmHoldResponse, work
        )

    async def _confirm_refusal(
        self, conn: Connection, row: Reservation, call_id: str, rules: Rules, now: datetime
    ) -> Refusal | str:
        """Why this hold cannot be confirmed by this call now, or the number to book it under."""
        refusal = policy.confirm_refusal(row.call_id, call_id, row.status, row.hold_expires_at, now)
        if refusal is not None:
            if refusal.cause == "LEASE_EXPIRED" and row.status == "HELD":
                await self.repository.set_status(conn, row.tenant_id, row.reservation_id, "EXPIRED", now)
            return refusal
        phone, required = row.patient_phone, rules.rules.otp_required
        if required:
            phone = await verified_number(conn, row, rules.rules.allow_spoken_phone_for_otp, now)
        refusal = policy.code_refusal(required, bool(phone))
        if refusal is not None:
            return refusal
        limit = rules.rules.max_active_appointments_per_phone
        if not policy.limit_applies(limit, phone):
            return phone
        if phone != row.patient_phone:  # counted under the lock of the number it is booked under
            await self.repository.lock_key(conn, row.tenant_id, "phone", phone)
        upcoming = await self.repository.count_future_appointments(conn, row.tenant_id, phone, now)
        return policy.over_limit(limit, upcoming) or phone

    async def ListBusy(self, request: pb.ListBusyRequest, context: grpc.aio.ServicerContext) -> pb.ListBusyResponse:
        await require(context, tenant_id=request.tenant_id)
        if not request.range.HasField("start") or not request.range.HasField("end"):
            await invalid(context, "range: start and end are required")
        start, end = from_timestamp(request.range.start), from_timestamp(request.range.end)
        if end <= start:
            await invalid(context, "range: end must be after start")
        rows, cursor = await self.repository.list_busy(
            request.tenant_id, list(request.provider_ids), start, end, self.deps.clock()
        )
        return pb.ListBusyResponse(
            busy=[
                pb.BusyInterval(
                    provider_id=row.provider_id,
                    range=C.TimeRange(start=timestamp(row.start), end=timestamp(row.end)),
                    reservation_id=row.reservation_id,
                    hold_expires_at=None if row.hold_expires_at is None else timestamp(row.hold_expires_at),
                )
                for row in rows
            ],
            cursor=str(cursor),
        )

    # --- one-time codes --------------------------------------------------------------------
    async def SendOtp(self, request: pb.SendOtpRequest, context: grpc.aio.ServicerContext) -> pb.SendOtpResponse:
        return await self.codes.send(request, context)

    async def VerifyOtp(self, request: pb.VerifyOtpRequest, context: grpc.aio.ServicerContext) -> pb.VerifyOtpResponse:
        return await self.codes.verify(request, context)
