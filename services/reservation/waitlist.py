"""The waitlist methods of ReservationService (SPEC §11): join, leave, list.

Joining needs a phone the caller has shown is theirs (identity.py: the caller id, or a number
verified by code in the call) and a number the clinic may text; the days are what availability
makes of the caller's words, in the clinic's timezone (FindSlots' from_date/to_date). Offers are
made by waitlist_offers.py and answered in waitlist_replies.py; the rules are in waitlist_policy.py.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, TypeAlias
from zoneinfo import ZoneInfo

import grpc

from booking.availability.v1 import availability_pb2 as apb
from booking.reservation.v1 import reservation_pb2 as pb
from common import api_keys
from common.db import Connection
from common.grpc_errors import e164, invalid
from common.logs import mask_phone
from common.security import bearer
from common.timestamps import to_timestamp
from services.reservation import identity, text_limits
from services.reservation import waitlist_policy as waitlist
from services.reservation.checks import language, require
from services.reservation.convert import failure, slot_of
from services.reservation.idempotency import once
from services.reservation.otp_repository import OtpRepository
from services.reservation.peers import Peers
from services.reservation.policy import Refusal
from services.reservation.repository import ReservationRepository
from services.reservation.waitlist_policy import Offer, Waiter, Wish
from services.reservation.waitlist_repository import WaitlistRepository

if TYPE_CHECKING:
    from services.reservation.servicer import ReservationDeps

Context: TypeAlias = grpc.aio.ServicerContext
LIST_DEFAULT, LIST_MAX = 100, 500
PARTS = {
    apb.PART_OF_DAY_MORNING: "morning", apb.PART_OF_DAY_AFTERNOON: "afternoon", apb.PART_OF_DAY_EVENING: "evening"
}  # fmt: skip
PART_VALUES = {name: value for value, name in PARTS.items()}
STATUSES = {"WAITING": pb.WAITLIST_STATUS_WAITING, "BOOKED": pb.WAITLIST_STATUS_BOOKED, "LEFT": pb.WAITLIST_STATUS_LEFT}


def from_tenant_key(context: Context) -> bool:
    """Whether the request came with a clinic's API key (the interceptor has checked it already)
    rather than the service token."""
    credential = bearer(dict(context.invocation_metadata() or ()))
    return api_keys.tenant_of(credential) is not None


def entry_of(waiter: Waiter, *, masked: bool = False) -> pb.WaitlistEntry:
    return pb.WaitlistEntry(
        waitlist_id=waiter.waitlist_id, tenant_id=waiter.tenant_id,
        patient=pb.Patient(name=waiter.patient_name, phone=mask_phone(waiter.phone) if masked else waiter.phone),
        service_id=waiter.service_id, provider_id=waiter.provider_id, from_date=waiter.from_date.isoformat(),
        to_date=waiter.to_date.isoformat(),
        part_of_day=PART_VALUES.get(waiter.part_of_day, apb.PART_OF_DAY_UNSPECIFIED),
        status=STATUSES[waiter.status], joined_at=to_timestamp(waiter.joined_at), language=waiter.language,
    )  # fmt: skip


class WaitlistRpcs:
    """The waitlist methods of ReservationService (mixed into the servicer, which sets these)."""

    deps: ReservationDeps
    repository: ReservationRepository
    peers: Peers

    @property
    def waitlist(self) -> WaitlistRepository:
        return WaitlistRepository(self.deps.pool)

    async def _phone(self, context: Context, request: pb.JoinWaitlistRequest) -> str | Refusal:
        """The phone offers go to: the one asked for, else the number verified in the call, else the
        caller id; for a caller, only one they have shown is theirs; always one the clinic may text."""
        phone = await e164(context, "phone", request.phone) if request.phone else ""
        caller = request.caller if request.HasField("caller") else None
        verified: list[str] = []
        if caller is not None:
            async with self.deps.pool.acquire() as conn:
                since = identity.verified_since(self.deps.clock())
                verified = await OtpRepository.verified_phones(conn, request.tenant_id, caller.call_id, since)
            phone = phone or next(iter(verified), caller.caller_phone)
        if not phone:
            return waitlist.NO_PHONE if caller is not None else await invalid(context, "phone is required")
        rules = await self.peers.rules(context, request.tenant_id, "")
        code_required = rules.rules.verify_changes_by_code
        if caller is not None and not identity.may_act(phone, caller.caller_phone, verified, code_required):
            return identity.PHONE_NOT_THE_CALLERS
        return text_limits.phone_refusal(phone, list(rules.sms_countries), rules.default_region) or phone

    async def _days(self, context: Context, request: pb.JoinWaitlistRequest) -> apb.FindSlotsResponse:
        return await self.peers.find_slots(
            context,
            apb.FindSlotsRequest(
                tenant_id=request.tenant_id, date=request.date, from_date=request.from_date,
                to_date=request.to_date, service_id=request.service_id, provider_id=request.provider_id,
                part_of_day=request.part_of_day, limit=1, language=request.caller.language,
            ),
        )  # fmt: skip

    async def JoinWaitlist(self, request: pb.JoinWaitlistRequest, context: Context) -> pb.JoinWaitlistResponse:
        await require(context, tenant_id=request.tenant_id)
        # The language of the offer and of every text after it ("es-US" is kept as "es").
        spoken = await language(context, "caller.language", request.caller.language)
        phone = await self._phone(context, request)
        if isinstance(phone, Refusal):
            return pb.JoinWaitlistResponse(failure=failure(phone))
        days = await self._days(context, request)
        if days.HasField("failure") and days.failure.cause:
            return pb.JoinWaitlistResponse(failure=days.failure)
        wish = Wish(
            request.service_id, request.provider_id, date.fromisoformat(days.from_date),
            date.fromisoformat(days.to_date), PARTS.get(days.part_of_day, ""),
        )  # fmt: skip
        now = self.deps.clock()
        today = now.astimezone(ZoneInfo(days.timezone)).date()

        async def work(conn: Connection) -> pb.JoinWaitlistResponse:
            await self.repository.lock_key(conn, request.tenant_id, "waitlist", phone)
            waiting = await self.waitlist.waiting_for_phone(conn, request.tenant_id, phone, today)
            refusal = waitlist.join_refusal(waiting, wish)
            if refusal is not None:
                return pb.JoinWaitlistResponse(failure=failure(refusal))
            waiter = await self.waitlist.insert_waiter(
                conn, request.tenant_id, phone, request.patient_name.strip()[:200], wish, days.timezone,
                spoken, request.caller.call_id, now,
            )  # fmt: skip
            return pb.JoinWaitlistResponse(
                entry=entry_of(waiter), offer_minutes=waitlist.OFFER_MINUTES, phone_ending=phone[-2:]
            )

        return await once(
            self.repository, context, "JoinWaitlist", request.tenant_id, request.idempotency_key,
            pb.JoinWaitlistResponse, work,
        )  # fmt: skip

    async def LeaveWaitlist(self, request: pb.LeaveWaitlistRequest, context: Context) -> pb.LeaveWaitlistResponse:
        await require(context, tenant_id=request.tenant_id, waitlist_id=request.waitlist_id)
        now = self.deps.clock()

        async def work(conn: Connection) -> bool:
            waiter = await self.waitlist.waiter(conn, request.tenant_id, request.waitlist_id, lock=True)
            if waiter is None or waiter.status != "WAITING":
                return False
            await self.waitlist.set_waiter_status(conn, waiter.tenant_id, waiter.waitlist_id, "LEFT", now)
            offer = await self.waitlist.live_offer_of(conn, waiter, now)
            if offer is not None:  # its time passes to the next waiter (the release queues it)
                await self.waitlist.answer_offer(conn, offer, "EXPIRED", now, "")
                hold = await self.repository.get(conn, waiter.tenant_id, offer.hold_id, lock=True)
                if hold is not None and hold.live_hold(now):
                    await self.repository.set_status(conn, waiter.tenant_id, offer.hold_id, "RELEASED", now)
            return True

        left = await self.repository.transaction(work)
        self.deps.outbox_written()  # wakes the offer worker too
        return pb.LeaveWaitlistResponse(left=left)

    async def ListWaitlist(self, request: pb.ListWaitlistRequest, context: Context) -> pb.ListWaitlistResponse:
        await require(context, tenant_id=request.tenant_id)
        if request.limit < 0:
            await invalid(context, "limit: must not be negative")
        waiters = await self.waitlist.list_waiters(
            request.tenant_id, request.include_inactive, min(request.limit or LIST_DEFAULT, LIST_MAX)
        )
        now, masked = self.deps.clock(), from_tenant_key(context)
        offers = await self.waitlist.live_offers(request.tenant_id, [w.waitlist_id for w in waiters], now)
        entries = []
        for waiter in waiters:
            entry = entry_of(waiter, masked=masked)
            offer = offers.get(waiter.waitlist_id)
            if offer is not None:
                entry.offer.CopyFrom(await self._offer_of(offer))
            entries.append(entry)
        return pb.ListWaitlistResponse(entries=entries)

    async def _offer_of(self, offer: Offer) -> pb.WaitlistOffer:
        async with self.deps.pool.acquire() as conn:
            hold = await self.repository.get(conn, offer.tenant_id, offer.hold_id)
        assert hold is not None
        return pb.WaitlistOffer(hold_id=offer.hold_id, slot=slot_of(hold), expires_at=to_timestamp(offer.expires_at))
