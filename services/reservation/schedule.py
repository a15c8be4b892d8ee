"""The clinic's side of ReservationService (SPEC §10): list appointments a page at a time, watch
every change of the schedule, and staff operations (book without a code, cancel, move, block
time), each recorded in the reservation's history with who acted and why.

Staff operations reuse the assistant's paths (a hold inserted under the exclusion constraint and
confirmed in the same transaction, texts through the outbox); they skip what guards callers only:
one-time codes, the booking limit and the cancellation cut-off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import suppress
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from booking.availability.v1 import availability_pb2
from booking.common.v1 import common_pb2 as C
from booking.notification.v1 import notification_pb2
from booking.reservation.v1 import reservation_pb2 as pb
from common.db import Connection
from common.grpc_errors import e164, invalid
from common.timestamps import from_timestamp
from common.timestamps import to_timestamp as timestamp
from services.reservation import page_tokens, policy
from services.reservation.changes import Changes
from services.reservation.checks import require
from services.reservation.convert import appointment_of, failure, new_reservation
from services.reservation.idempotency import once
from services.reservation.peers import Peers
from services.reservation.policy import Refusal
from services.reservation.repository import NewReservation, Reservation, ReservationRepository, SlotTaken
from services.reservation.schedule_repository import Event, Page, ScheduleRepository
from services.reservation.schedule_wakeups import Wakeups

if TYPE_CHECKING:
    from services.reservation.servicer import ReservationDeps

Context: TypeAlias = grpc.aio.ServicerContext
R = TypeVar("R", bound=Message)
Rules: TypeAlias = availability_pb2.GetBookingRulesResponse
Validation: TypeAlias = availability_pb2.ValidateSlotResponse
PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX = 50, 500
WATCH_BATCH = 500
# How often an idle watcher looks anyway: the bound on how late a change is streamed when a
# notification is lost (normally a commit wakes it at once, schedule_wakeups.py).
WATCH_POLL_SECONDS = 1.0
KINDS = {
    "HELD": pb.SCHEDULE_CHANGE_KIND_HELD,
    "RELEASED": pb.SCHEDULE_CHANGE_KIND_RELEASED,
    "EXPIRED": pb.SCHEDULE_CHANGE_KIND_EXPIRED,
    "CONFIRMED": pb.SCHEDULE_CHANGE_KIND_CONFIRMED,
    "CANCELED": pb.SCHEDULE_CHANGE_KIND_CANCELED,
    "NO_SHOW": pb.SCHEDULE_CHANGE_KIND_NO_SHOW,
    "COMPLETED": pb.SCHEDULE_CHANGE_KIND_COMPLETED,
    "BLOCKED": pb.SCHEDULE_CHANGE_KIND_BLOCKED,
}


def start_of(request: pb.StaffBookRequest | pb.StaffMoveRequest) -> Timestamp | None:
    return request.start if request.HasField("start") else None


def status_value(name: str | None) -> pb.ReservationStatus.ValueType:
    return pb.ReservationStatus.Value(f"RESERVATION_STATUS_{name}") if name else pb.RESERVATION_STATUS_UNSPECIFIED


def kind_of(event: Event) -> pb.ScheduleChangeKind.ValueType:
    if event.change == "ATTENDANCE_CONFIRMED":
        return pb.SCHEDULE_CHANGE_KIND_ATTENDANCE_CONFIRMED
    if event.from_status == event.to_status:
        return pb.SCHEDULE_CHANGE_KIND_MOVED  # same status, new start or provider
    if event.from_status == "BLOCKED":
        return pb.SCHEDULE_CHANGE_KIND_UNBLOCKED
    return KINDS.get(event.to_status, pb.SCHEDULE_CHANGE_KIND_UNSPECIFIED)


def change_of(event: Event) -> pb.ScheduleChange:
    change = pb.ScheduleChange(
        cursor=str(event.seq), kind=kind_of(event), reservation_id=event.reservation_id,
        from_status=status_value(event.from_status), to_status=status_value(event.to_status),
        provider_id=event.provider_id,
        range=C.TimeRange(start=timestamp(event.starts_at), end=timestamp(event.ends_at)),
        at=timestamp(event.at), action=pb.StaffAction(actor=event.actor, reason=event.reason),
    )  # fmt: skip
    if event.occupied_start is not None and event.occupied_end is not None:
        change.occupied.CopyFrom(C.TimeRange(start=timestamp(event.occupied_start), end=timestamp(event.occupied_end)))
    if event.hold_expires_at is not None:
        change.hold_expires_at.CopyFrom(timestamp(event.hold_expires_at))
    return change


def status_name(value: pb.ReservationStatus.ValueType) -> str:
    return pb.ReservationStatus.Name(value).removeprefix("RESERVATION_STATUS_")


def appointment_statuses(values: list[pb.ReservationStatus.ValueType]) -> list[str] | None:
    """The statuses asked for as stored names; None when one is not an appointment's (or BLOCKED,
    which is listed only when asked for)."""
    names = [status_name(v) for v in values]
    if any(name not in (*policy.APPOINTMENT_STATUSES, "BLOCKED") for name in names):
        return None
    return sorted(set(names)) or list(policy.APPOINTMENT_STATUSES)


async def time_range(context: Context, value: C.TimeRange) -> tuple[datetime, datetime]:
    if not value.HasField("start") or not value.HasField("end"):
        await invalid(context, "range: start and end are required")
    start, end = from_timestamp(value.start), from_timestamp(value.end)
    if end <= start:
        await invalid(context, "range: end must be after start")
    return start, end


async def require_actor(context: Context, tenant_id: str, action: pb.StaffAction) -> tuple[str, str]:
    """Who acts and why (actor required), trimmed to what history keeps."""
    await require(context, tenant_id=tenant_id, **{"action.actor": action.actor.strip()})
    return action.actor.strip()[:200], action.reason.strip()[:500]


class ScheduleRpcs:
    """The clinic's methods of ReservationService (mixed into the servicer, which sets these)."""

    deps: ReservationDeps
    repository: ReservationRepository
    peers: Peers
    changes: Changes
    _hold: Callable[..., Coroutine[Any, Any, Reservation]]
    _move: Callable[[Connection, Reservation, NewReservation, datetime], Coroutine[Any, Any, Reservation | None]]
    _appointment: Callable[[str, str], Coroutine[Any, Any, Reservation | None]]

    @cached_property
    def schedule(self) -> ScheduleRepository:
        return ScheduleRepository(self.deps.pool)

    @cached_property
    def wakeups(self) -> Wakeups:
        return Wakeups(self.deps.pool)

    # --- read ------------------------------------------------------------------------------
    async def ListAppointments(
        self, request: pb.ListAppointmentsRequest, context: Context
    ) -> pb.ListAppointmentsResponse:
        await require(context, tenant_id=request.tenant_id)
        start, end = await time_range(context, request.range)
        statuses = appointment_statuses(list(request.statuses))
        if statuses is None:
            await invalid(context, "statuses: only CONFIRMED, CANCELED, NO_SHOW, COMPLETED and BLOCKED are listed")
        if not 0 <= request.page_size:
            await invalid(context, "page_size: must not be negative")
        providers = sorted(set(request.provider_ids))
        digest = page_tokens.filters_digest(request.tenant_id, start, end, providers, statuses)
        try:
            after = page_tokens.decode(request.page_token, digest) if request.page_token else None
        except page_tokens.BadToken as error:
            await invalid(context, f"page_token: {error}")
        size = min(request.page_size or PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
        # One more than the page tells whether another page follows without an empty last page.
        rows = await self.schedule.list_appointments(
            Page(request.tenant_id, start, end, providers, statuses, after, size + 1)
        )
        reply = pb.ListAppointmentsResponse(appointments=[appointment_of(r) for r in rows[:size]])
        if len(rows) > size:
            reply.next_page_token = page_tokens.encode(rows[size - 1].starts_at, rows[size - 1].reservation_id, digest)
        return reply

    async def WatchSchedule(
        self, request: pb.WatchScheduleRequest, context: Context
    ) -> AsyncIterator[pb.ScheduleChange]:
        await require(context, tenant_id=request.tenant_id)
        if request.cursor and not request.cursor.isdecimal():
            await invalid(context, "cursor: not a cursor of this schedule")
        seq = int(request.cursor or 0)
        if not request.cursor and request.from_now:
            seq = await self.schedule.latest_seq(request.tenant_id)
        async with self.wakeups.watching(request.tenant_id) as changed:
            while not self.wakeups.closed:  # a stopping server ends the stream: resume elsewhere
                changed.clear()  # before reading: a commit after this read wakes the wait below
                events = await self.schedule.changes_after(request.tenant_id, seq, WATCH_BATCH)
                for event in events:
                    yield change_of(event)
                    seq = event.seq
                if len(events) < WATCH_BATCH:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), WATCH_POLL_SECONDS)

    # --- staff operations ------------------------------------------------------------------
    async def _staff(
        self, context: Context, method: str, request: Any, response_type: type[R],
        work: Callable[[Connection], Coroutine[Any, Any, R]],
    ) -> R:  # fmt: skip
        """Once per idempotency key, as the request's actor; wakes the relay for a queued text."""
        actor, reason = await require_actor(context, request.tenant_id, request.action)

        async def acting(conn: Connection) -> R:
            await self.schedule.act_as(conn, actor, reason)
            return await work(conn)

        reply = await once(self.repository, context, method, request.tenant_id, request.idempotency_key,
                           response_type, acting)  # fmt: skip
        self.deps.outbox_written()
        return reply

    async def _target(
        self, context: Context, tenant_id: str, slot_id: str, provider_id: str, service_id: str,
        start: Timestamp | None,
    ) -> tuple[availability_pb2.ValidateSlotResponse, Rules]:  # fmt: skip
        """The time asked for, as availability validates it, and the booking rules of its service."""
        if not slot_id and start is None:
            await invalid(context, "slot_id (or start) is required")
        asked = availability_pb2.ValidateSlotRequest(
            tenant_id=tenant_id, slot_id=slot_id, provider_id=provider_id, service_id=service_id, start=start
        )
        validation = await self.peers.validate(context, asked)
        return validation, await self.peers.rules(context, tenant_id, validation.slot.service_id)

    async def _insert_hold(
        self, conn: Connection, request: pb.StaffBookRequest, validation: Validation, phone: str, now: datetime
    ) -> Reservation | Refusal:
        """A hold through the assistant's path (no call, so no earlier hold is released)."""
        from services.reservation.servicer import Refused  # imported here: the servicer imports this module

        as_hold = pb.CreateHoldRequest(tenant_id=request.tenant_id, patient=request.patient)
        expires_at = now + policy.hold_length(validation.rules.hold_minutes)
        new = new_reservation(validation, with_service_name=True)
        try:
            return await self._hold(conn, as_hold, new, phone, expires_at, now)
        except SlotTaken:
            return policy.SLOT_TAKEN
        except Refused as refused:
            return refused.refusal

    async def _staff_appointment(
        self, context: Context, request: pb.StaffCancelRequest | pb.StaffMoveRequest | pb.MarkAttendanceRequest
    ) -> Reservation | None:
        """The appointment a staff operation names (the clinic's: any of its tenant), before locking it."""
        await require(context, tenant_id=request.tenant_id, appointment_id=request.appointment_id)
        return await self._appointment(request.tenant_id, request.appointment_id)

    async def _locked_appointment(self, conn: Connection, tenant_id: str, appointment_id: str) -> Reservation:
        row = await self.repository.get(conn, tenant_id, appointment_id, lock=True)
        assert row is not None  # it was an appointment before the transaction, and rows are never deleted
        return row

    async def StaffBook(self, request: pb.StaffBookRequest, context: Context) -> pb.StaffBookResponse:
        await require_actor(context, request.tenant_id, request.action)
        phone = await e164(context, "patient.phone", request.patient.phone) if request.patient.phone else ""
        validation, rules = await self._target(
            context, request.tenant_id, request.slot_id, request.provider_id, request.service_id, start_of(request)
        )
        if not validation.bookable:
            return pb.StaffBookResponse(failure=validation.failure)
        now = self.deps.clock()

        async def work(conn: Connection) -> pb.StaffBookResponse:
            held = await self._insert_hold(conn, request, validation, phone, now)
            if isinstance(held, Refusal):
                return pb.StaffBookResponse(failure=failure(held))
            confirmed = await self.changes.settle(
                conn, held, "CONFIRMED", notification_pb2.MESSAGE_KIND_CONFIRMATION, rules, now, confirmed_at=now
            )
            return pb.StaffBookResponse(appointment=confirmed)

        return await self._staff(context, "StaffBook", request, pb.StaffBookResponse, work)

    async def StaffCancel(self, request: pb.StaffCancelRequest, context: Context) -> pb.StaffCancelResponse:
        peek = await self._staff_appointment(context, request)
        if peek is None:
            return pb.StaffCancelResponse(failure=failure(policy.APPOINTMENT_NOT_FOUND))
        rules = await self.peers.rules(context, request.tenant_id, peek.service_id)
        now = self.deps.clock()

        async def work(conn: Connection) -> pb.StaffCancelResponse:
            row = await self._locked_appointment(conn, request.tenant_id, request.appointment_id)
            refusal = policy.status_refusal(row.status)
            if refusal is not None:
                return pb.StaffCancelResponse(appointment=appointment_of(row), failure=failure(refusal))
            reason = request.action.reason.strip()[:500]  # also the appointment's cancel_reason
            return pb.StaffCancelResponse(
                appointment=await self.changes.settle(
                    conn, row, "CANCELED", notification_pb2.MESSAGE_KIND_CANCELLATION, rules, now, canceled_at=now,
                    cancel_reason=reason,
                )
            )  # fmt: skip

        return await self._staff(context, "StaffCancel", request, pb.StaffCancelResponse, work)

    async def StaffMove(self, request: pb.StaffMoveRequest, context: Context) -> pb.StaffMoveResponse:
        peek = await self._staff_appointment(context, request)
        if peek is None:
            return pb.StaffMoveResponse(failure=failure(policy.APPOINTMENT_NOT_FOUND))
        validation, rules = await self._target(
            context, request.tenant_id, request.slot_id, request.provider_id or peek.provider_id, peek.service_id,
            start_of(request),
        )  # fmt: skip
        now = self.deps.clock()

        async def work(conn: Connection) -> pb.StaffMoveResponse:
            row = await self._locked_appointment(conn, request.tenant_id, request.appointment_id)
            # No cut-off for the clinic (0 minutes): only a past appointment stays where it was.
            refusal = policy.status_refusal(row.status) or policy.move_refusal(
                row.service_id, validation.slot.service_id, row.starts_at, now, 0
            )
            if refusal is None and not validation.bookable:
                return pb.StaffMoveResponse(appointment=appointment_of(row), failure=validation.failure)
            new = new_reservation(validation, with_service_name=False)
            moved = None if refusal else await self._move(conn, row, new, now)
            if moved is None:
                failed = failure(refusal or policy.SLOT_TAKEN)  # no refusal: another booking took the time first
                return pb.StaffMoveResponse(appointment=appointment_of(row), failure=failed)
            appointment = await self.changes.moved(conn, moved, rules, now)
            return pb.StaffMoveResponse(appointment=appointment)

        return await self._staff(context, "StaffMove", request, pb.StaffMoveResponse, work)

    async def MarkAttendance(self, request: pb.MarkAttendanceRequest, context: Context) -> pb.MarkAttendanceResponse:
        outcome = status_name(request.status) if request.status in pb.ReservationStatus.values() else ""
        if outcome not in policy.ATTENDANCE_STATUSES:
            await invalid(context, "status: NO_SHOW or COMPLETED")
        peek = await self._staff_appointment(context, request)
        if peek is None:
            return pb.MarkAttendanceResponse(failure=failure(policy.APPOINTMENT_NOT_FOUND))
        now = self.deps.clock()

        async def work(conn: Connection) -> pb.MarkAttendanceResponse:
            row = await self._locked_appointment(conn, request.tenant_id, request.appointment_id)
            refusal = policy.attendance_refusal(row.status, outcome, row.starts_at, now)
            if refusal is not None:
                return pb.MarkAttendanceResponse(appointment=appointment_of(row), failure=failure(refusal))
            if row.status != outcome:  # recorded once: marking it again writes no second change
                row = await self.repository.set_status(conn, request.tenant_id, row.reservation_id, outcome, now)
            return pb.MarkAttendanceResponse(appointment=appointment_of(row))

        return await self._staff(context, "MarkAttendance", request, pb.MarkAttendanceResponse, work)

    async def BlockTime(self, request: pb.BlockTimeRequest, context: Context) -> pb.BlockTimeResponse:
        await require(context, tenant_id=request.tenant_id, provider_id=request.provider_id)
        start, end = await time_range(context, request.range)
        block = NewReservation(request.provider_id, "", start, end, start, end, "UTC", {})
        now = self.deps.clock()

        async def work(conn: Connection) -> pb.BlockTimeResponse:
            # Taking turns per provider like holds do (see CreateHold); the constraint decides.
            await self.repository.lock_key(conn, request.tenant_id, "provider", request.provider_id)
            await self.repository.expire_stale_overlapping(
                conn, request.tenant_id, request.provider_id, start, end, now
            )
            try:
                row = await self.schedule.insert_block(conn, request.tenant_id, block, now)
            except SlotTaken:
                return pb.BlockTimeResponse(failure=failure(policy.SLOT_TAKEN))
            return pb.BlockTimeResponse(block_id=row.reservation_id)

        return await self._staff(context, "BlockTime", request, pb.BlockTimeResponse, work)

    async def UnblockTime(self, request: pb.UnblockTimeRequest, context: Context) -> pb.UnblockTimeResponse:
        await require(context, tenant_id=request.tenant_id, block_id=request.block_id)
        actor, reason = await require_actor(context, request.tenant_id, request.action)
        now = self.deps.clock()

        async def work(conn: Connection) -> bool:
            row = await self.repository.get(conn, request.tenant_id, request.block_id, lock=True)
            if row is None or row.status != "BLOCKED":
                return False
            await self.schedule.act_as(conn, actor, reason)
            await self.repository.set_status(conn, request.tenant_id, row.reservation_id, "RELEASED", now)
            return True

        return pb.UnblockTimeResponse(unblocked=await self.repository.transaction(work))
