"""A patient's YES or NO to a waitlist offer (the first handler of replies.HANDLERS).

YES books the held time (the hold becomes the appointment, the confirmation text is queued with
it); NO releases the hold, which queues the freed time for the next waiter (by trigger, in the
same transaction); a reply to an offer that ran out or was answered is told so by a short text
(YES only: a NO needs no answer). The same inbound text twice is one answer. Any other word, or a
phone with no recent offer, is left to the next handler.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from booking.availability.v1 import availability_pb2
from booking.notification.v1 import notification_pb2
from booking.reservation.v1 import reservation_pb2 as pb
from common.db import Connection
from common.deadlines import SERVICE_TO_SERVICE
from services.reservation import text_limits
from services.reservation.changes import Changes
from services.reservation.convert import sms_request
from services.reservation.patient_reply import NO_WORDS, YES_WORDS, PatientReply
from services.reservation.repository import ReservationRepository
from services.reservation.waitlist_policy import Offer, ReplyAction, reply_action
from services.reservation.waitlist_repository import WaitlistRepository

if TYPE_CHECKING:
    from services.reservation.servicer import ReservationDeps

Rules = availability_pb2.GetBookingRulesResponse
Answer = pb.HandlePatientReplyResponse
OUTCOMES = {
    "ACCEPTED": pb.PATIENT_REPLY_OUTCOME_OFFER_ACCEPTED,
    "DECLINED": pb.PATIENT_REPLY_OUTCOME_OFFER_DECLINED,
    "EXPIRED": pb.PATIENT_REPLY_OUTCOME_OFFER_EXPIRED,
}


async def offer_reply(deps: ReservationDeps, reply: PatientReply) -> Answer | None:

    yes = reply.word in YES_WORDS
    if not yes and reply.word not in NO_WORDS:
        return None
    async with deps.pool.acquire() as conn:
        peek = await WaitlistRepository.latest_offer(conn, reply.tenant_id, reply.phone)
    if peek is None or reply_action(yes, peek, reply.message_sid, reply.received_at) is None:
        return None
    assert deps.availability is not None, "availability stub not wired"
    rules: Rules = await deps.availability.GetBookingRules(
        availability_pb2.GetBookingRulesRequest(tenant_id=reply.tenant_id), timeout=SERVICE_TO_SERVICE
    )
    replies = OfferReplies(deps, rules)
    answer = await replies.repository.transaction(partial(replies.answer, reply, yes, peek.waitlist_id))
    deps.outbox_written()  # a confirmation or a note queued, or a time freed for the next waiter
    return answer


class OfferReplies:
    def __init__(self, deps: ReservationDeps, rules: Rules) -> None:
        self.repository = ReservationRepository(deps.pool)
        self.changes = Changes(self.repository, deps)
        self.rules = rules

    async def answer(self, reply: PatientReply, yes: bool, waitlist_id: str, conn: Connection) -> Answer | None:
        # The waiter's row first, as the offer worker takes it: their state changes one at a time.
        waiter = await WaitlistRepository.waiter(conn, reply.tenant_id, waitlist_id, lock=True)
        offer = await WaitlistRepository.latest_offer(conn, reply.tenant_id, reply.phone, lock=True)
        now = reply.received_at
        action = reply_action(yes, offer, reply.message_sid, now)
        if offer is None or action is None:
            return None
        if action is ReplyAction.REPEAT:
            return Answer(outcome=OUTCOMES[offer.status], appointment_id=self._booked(offer))
        hold = await self.repository.get(conn, offer.tenant_id, offer.hold_id, lock=True)
        assert hold is not None  # an offer's hold is never deleted
        if action is ReplyAction.ENDED or not hold.live_hold(now):
            language = waiter.language if waiter is not None else ""
            return await self._ended(conn, offer, yes, reply, language)
        sid = reply.message_sid
        if action is ReplyAction.DECLINE:
            await self.repository.set_status(conn, offer.tenant_id, offer.hold_id, "RELEASED", now)
            await WaitlistRepository.answer_offer(conn, offer, "DECLINED", now, sid)
            return Answer(outcome=pb.PATIENT_REPLY_OUTCOME_OFFER_DECLINED)
        kind = notification_pb2.MESSAGE_KIND_CONFIRMATION
        await self.changes.settle(conn, hold, "CONFIRMED", kind, self.rules, now, confirmed_at=now)
        await WaitlistRepository.answer_offer(conn, offer, "ACCEPTED", now, sid)
        await WaitlistRepository.set_waiter_status(conn, offer.tenant_id, offer.waitlist_id, "BOOKED", now)
        return Answer(outcome=pb.PATIENT_REPLY_OUTCOME_OFFER_ACCEPTED, appointment_id=offer.hold_id)

    @staticmethod
    def _booked(offer: Offer) -> str:
        return offer.hold_id if offer.status == "ACCEPTED" else ""

    async def _ended(self, conn: Connection, offer: Offer, yes: bool, reply: PatientReply, language: str) -> Answer:
        """The offer ran out or was answered: a YES is told so (once per inbound text)."""
        if offer.status == "OFFERED":
            await WaitlistRepository.answer_offer(conn, offer, "EXPIRED", offer.expires_at, "")
        hold = await self.repository.get(conn, offer.tenant_id, offer.hold_id)
        rules = self.rules
        textable = text_limits.phone_refusal(offer.phone, list(rules.sms_countries), rules.default_region) is None
        if yes and hold is not None and textable:
            said = reply.message_sid or reply.received_at.isoformat()
            kind = notification_pb2.MESSAGE_KIND_WAITLIST_OFFER_EXPIRED
            text = sms_request(hold, kind, rules.clinic_name, f"waitlist-ended:{offer.hold_id}:{said}")
            text.language = language
            await self.repository.enqueue_sms(conn, offer.tenant_id, text.dedupe_key, text.SerializeToString())
        return Answer(outcome=pb.PATIENT_REPLY_OUTCOME_OFFER_EXPIRED)
