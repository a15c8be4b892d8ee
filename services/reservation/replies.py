"""A patient's text reply (HandlePatientReply): which earlier text it answers, and what it does.

Notification forwards every inbound text that is not a carrier keyword (STOP/START/HELP). Each
handler below looks at what this clinic last texted that phone and answers when the reply is
about it, or returns None to let the next one look. Waitlist offers come first (an offer expires in
minutes, a reminder's appointment is hours away), then reminders; nothing matched → NOTHING_TO_ANSWER.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from booking.reservation.v1 import reservation_pb2 as pb
from services.reservation.patient_reply import PatientReply
from services.reservation.reminder_replies import answer_reminder
from services.reservation.waitlist_replies import offer_reply

if TYPE_CHECKING:
    from services.reservation.servicer import ReservationDeps

Answer = pb.HandlePatientReplyResponse
ReplyHandler = Callable[["ReservationDeps", PatientReply], Awaitable[Answer | None]]


# Ordered: the first handler that answers wins. Waitlist offers, then reminders.
HANDLERS: tuple[ReplyHandler, ...] = (offer_reply, answer_reminder)


async def answer(deps: ReservationDeps, reply: PatientReply) -> Answer:
    for handler in HANDLERS:
        answered = await handler(deps, reply)
        if answered is not None:
            return answered
    return Answer(outcome=pb.PATIENT_REPLY_OUTCOME_NOTHING_TO_ANSWER)
