"""The offer worker: each freed time goes to the first waiter it suits, as a hold in their name and
a text, in one transaction.

Freed times are queued by the database itself (a trigger, in the transaction that frees them) and
claimed here with FOR UPDATE SKIP LOCKED and a lease (common/relay.py), so any number of replicas
share the work and a worker that dies leaves its claims to come due again: no freed time is lost.
Whether the waiter's appointment type fits the freed time is availability's answer (ValidateSlot),
asked outside any transaction (see CreateHold on pool starvation). The exclusion constraint is the
last word: a time someone else took meanwhile is simply not offered, and a time held for one
waiter cannot be held for another, so it is never offered to two people at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING

import grpc

from booking.availability.v1 import availability_pb2, availability_pb2_grpc
from booking.notification.v1 import notification_pb2
from common.db import Connection
from common.deadlines import SERVICE_TO_SERVICE
from common.relay import LeasedRelay, Pace
from common.timestamps import to_timestamp
from services.reservation import policy, text_limits
from services.reservation import waitlist_policy as waitlist
from services.reservation.convert import new_reservation, sms_request
from services.reservation.repository import NewReservation, Reservation, ReservationRepository, SlotTaken
from services.reservation.waitlist_policy import Waiter
from services.reservation.waitlist_repository import FREED_QUEUE, FreedSlot, WaitlistRepository

if TYPE_CHECKING:
    from services.reservation.servicer import ReservationDeps

log = logging.getLogger("services.reservation")
OFFER_PACE = Pace(lease=timedelta(seconds=30), batch=10, poll_seconds=1.0, base_backoff=1.0, max_backoff=60.0)
Rules = availability_pb2.GetBookingRulesResponse
Validation = availability_pb2.ValidateSlotResponse
# Availability refusing the question itself (the clinic or service is gone): asking again won't help.
REFUSED = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)


class Made(Enum):
    OFFERED = "offered"
    TAKEN = "taken"  # someone else holds the time now: nobody is offered it
    SKIPPED = "skipped"  # not for this waiter after all: the next one may have it


def offer_text(waiter: Waiter, hold: Reservation, clinic_name: str) -> notification_pb2.EnqueueSmsRequest:
    kind, key = notification_pb2.MESSAGE_KIND_WAITLIST_OFFER, f"waitlist-offer:{hold.reservation_id}"
    request = sms_request(hold, kind, clinic_name, key)
    request.appointment.reply_within_minutes = waitlist.OFFER_MINUTES
    request.language = waiter.language
    return request


class OfferWorker(LeasedRelay[FreedSlot]):
    def __init__(self, deps: ReservationDeps) -> None:
        # Leases and retries run on wall time; offers and holds on the service's clock.
        super().__init__(deps.pool, FREED_QUEUE, FreedSlot, name="waitlist-offers", pace=OFFER_PACE)
        self.deps = deps
        self.reservations = ReservationRepository(deps.pool)
        self.waitlist = WaitlistRepository(deps.pool)

    async def handle(self, items: list[FreedSlot]) -> int:
        for slot in items:
            try:
                await self.offer(slot)
            except grpc.aio.AioRpcError as error:
                if error.code() not in REFUSED:  # availability away: this time comes due again later
                    log.warning("waitlist offer postponed", extra={"code": error.code().name, "attempt": slot.attempts})
                    await self.waitlist.freed_later(slot, self.clock() + self.backoff(slot.attempts))
                    continue
            await self.waitlist.freed_done(slot, self.clock())
        return len(items)

    async def offer(self, slot: FreedSlot) -> Made | None:
        """Offer the freed time to the first waiter it suits; None when nobody was offered it."""
        now = self.deps.clock()
        if slot.starts_at <= now:
            return None
        async with self.pool.acquire() as conn:
            found = await self.waitlist.candidates(conn, slot, now)
        waiters = [w for w in found if waitlist.wants(w, slot.provider_id, slot.starts_at)]
        if not waiters:
            return None
        rules = await self._rules(slot.tenant_id)
        checked: dict[str, Validation] = {}
        for waiter in waiters:
            if waiter.service_id not in checked:
                checked[waiter.service_id] = await self._validate(slot, waiter.service_id)
            validation = checked[waiter.service_id]
            if not validation.bookable:
                continue
            made = await self.reservations.transaction(partial(self._offer_to, waiter, validation, rules, now))
            if made is Made.OFFERED:
                self.deps.outbox_written()
            if made is not Made.SKIPPED:
                return made
        return None

    async def _offer_to(
        self, waiter: Waiter, validation: Validation, rules: Rules, now: datetime, conn: Connection
    ) -> Made:
        tenant_id, new = waiter.tenant_id, new_reservation(validation, with_service_name=True)
        # The provider's turn first, as every hold takes it (see CreateHold), then the waiter's row.
        await self.reservations.lock_key(conn, tenant_id, "provider", new.provider_id)
        locked = await self.waitlist.waiter(conn, tenant_id, waiter.waitlist_id, lock=True)
        if locked is None or not await self._may_offer(conn, locked, new, validation, rules, now):
            return Made.SKIPPED
        call_id = waitlist.offer_call_id(locked.waitlist_id)
        await self.reservations.release_call_holds(conn, tenant_id, call_id, now)  # a run-out one, not yet marked
        await self.reservations.expire_stale_overlapping(
            conn, tenant_id, new.provider_id, new.occupied_start, new.occupied_end, now
        )
        expires_at = waitlist.offer_expiry(now)
        try:
            # In the waiter's language: the confirmation after their YES is a text about this hold.
            async with conn.transaction():  # a savepoint: a lost race keeps what this transaction did
                hold = await self.reservations.insert_hold(
                    conn, tenant_id, new, call_id, locked.patient_name, locked.phone, expires_at, now, locked.language
                )
        except SlotTaken:
            return Made.TAKEN
        await self.waitlist.insert_offer(
            conn, locked, hold.reservation_id, new.starts_at, new.provider_id, expires_at, now
        )
        text = offer_text(locked, hold, rules.clinic_name)
        await self.reservations.enqueue_sms(conn, tenant_id, text.dedupe_key, text.SerializeToString())
        return Made.OFFERED

    async def _may_offer(
        self, conn: Connection, waiter: Waiter, new: NewReservation, validation: Validation, rules: Rules,
        now: datetime,
    ) -> bool:  # fmt: skip
        """Checked under the waiter's lock: still waiting, never offered this time, no live offer, a
        number the clinic may text, not busy then, not over the clinic's booking limit."""
        if waiter.status != "WAITING" or not await self.waitlist.may_be_offered(
            conn, waiter, new.provider_id, new.starts_at, now
        ):
            return False
        if text_limits.phone_refusal(waiter.phone, list(rules.sms_countries), rules.default_region) is not None:
            return False
        tenant_id, phone = waiter.tenant_id, waiter.phone
        if await self.reservations.patient_conflicts(conn, tenant_id, phone, new.starts_at, new.ends_at, now):
            return False
        limit = validation.rules.max_active_appointments_per_phone
        if not policy.limit_applies(limit, phone):
            return True
        upcoming = await self.reservations.count_future_appointments(conn, tenant_id, phone, now)
        return policy.over_limit(limit, upcoming) is None

    def _availability(self) -> availability_pb2_grpc.AvailabilityServiceStub:
        stub = self.deps.availability
        assert stub is not None, "availability stub not wired"
        return stub

    async def _rules(self, tenant_id: str) -> Rules:
        reply: Rules = await self._availability().GetBookingRules(
            availability_pb2.GetBookingRulesRequest(tenant_id=tenant_id), timeout=SERVICE_TO_SERVICE
        )
        return reply

    async def _validate(self, slot: FreedSlot, service_id: str) -> Validation:
        reply: Validation = await self._availability().ValidateSlot(
            availability_pb2.ValidateSlotRequest(
                tenant_id=slot.tenant_id, provider_id=slot.provider_id, service_id=service_id,
                start=to_timestamp(slot.starts_at),
            ),
            timeout=SERVICE_TO_SERVICE,
        )  # fmt: skip
        return reply
