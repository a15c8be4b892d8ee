"""A patient's reply to a reminder (registered in replies.HANDLERS after the waitlist's).

It answers the latest reminder this clinic sent to that phone whose appointment is still ahead
and confirmed: C/CANCEL cancels it (inside the cancellation cut-off nothing changes and the
answer asks them to call), Y/YES/CONFIRM records that they will come, anything else gets a short
help text. The same inbound message (MessageSid) twice is one reply: it is recorded with its
answer in the transaction that acts on it. Every answer is a text queued in that transaction.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from booking.availability.v1 import availability_pb2
from booking.notification.v1 import notification_pb2 as npb
from booking.reservation.v1 import reservation_pb2 as pb
from common.db import Connection
from common.deadlines import SERVICE_TO_SERVICE
from services.reservation import policy
from services.reservation.changes import Changes, Rules
from services.reservation.patient_reply import CANCEL_WORDS, YES_WORDS, PatientReply
from services.reservation.reminder_repository import ReminderRepository, StoredReply
from services.reservation.repository import Reservation, ReservationRepository
from services.reservation.schedule_repository import ScheduleRepository

if TYPE_CHECKING:
    from services.reservation.servicer import ReservationDeps

Answer = pb.HandlePatientReplyResponse
Outcome = pb.PatientReplyOutcome
# Who acted, in the appointment's history (the schedule feed and the console show it).
ACTOR = "patient:sms-reply"


def stored_answer(stored: StoredReply) -> Answer:
    return Answer(outcome=Outcome.Value(stored.outcome), appointment_id=stored.reservation_id)


async def booking_rules(deps: ReservationDeps, tenant_id: str, service_id: str) -> Rules:
    """The appointment's rules (its cut-off, the clinic's name); a fault is raised to the servicer."""
    assert deps.availability is not None, "availability stub not wired"
    rules: Rules = await deps.availability.GetBookingRules(
        availability_pb2.GetBookingRulesRequest(tenant_id=tenant_id, service_id=service_id), timeout=SERVICE_TO_SERVICE
    )
    return rules


async def answer_reminder(deps: ReservationDeps, reply: PatientReply) -> Answer | None:
    """The answer to a reply about the latest reminder; None when no reminder is waiting for one."""
    repository = ReservationRepository(deps.pool)
    sid = reply.message_sid or f"no-sid:{uuid.uuid4()}"  # without a SID each text counts
    async with deps.pool.acquire() as conn:
        stored = await ReminderRepository.reply_of(conn, reply.tenant_id, sid)
        if stored is not None:
            return stored_answer(stored)
        appointment_id = await ReminderRepository.latest_reminded(conn, reply.tenant_id, reply.phone, reply.received_at)
        peek = None if appointment_id is None else await repository.get(conn, reply.tenant_id, appointment_id)
    if peek is None:
        return None
    rules = await booking_rules(deps, reply.tenant_id, peek.service_id)
    changes = Changes(repository, deps)

    async def work(conn: Connection) -> Answer:
        stored = await ReminderRepository.record_reply(
            conn, reply.tenant_id, sid, reply.phone, reply.word, reply.received_at
        )
        if stored is not None:  # the same message, answered by a concurrent delivery
            return stored_answer(stored)
        row = await repository.get(conn, reply.tenant_id, peek.reservation_id, lock=True)
        assert row is not None  # rows are never deleted
        outcome = await act(conn, changes, row, reply, rules)
        await ReminderRepository.answered(conn, reply.tenant_id, sid, Outcome.Name(outcome), row.reservation_id)
        return Answer(outcome=outcome, appointment_id=row.reservation_id)

    answer = await repository.transaction(work)
    deps.outbox_written()
    return answer


async def act(
    conn: Connection, changes: Changes, row: Reservation, reply: PatientReply, rules: Rules
) -> Outcome.ValueType:
    """Do what the reply asks of the appointment and queue the text that answers it."""

    now = reply.received_at
    if reply.word in CANCEL_WORDS:
        refusal = policy.cancel_refusal(row.status, row.starts_at, now, rules.rules.cancellation_cutoff_minutes)
        if refusal is None:
            await ScheduleRepository.act_as(conn, ACTOR, f"replied {reply.word}")
            await changes.settle(
                conn, row, "CANCELED", npb.MESSAGE_KIND_CANCELLATION, rules, now, canceled_at=now,
                cancel_reason="text reply",
            )  # fmt: skip
            return pb.PATIENT_REPLY_OUTCOME_CANCELED
        if refusal.cause != "OUTSIDE_CANCELLATION_WINDOW":
            return pb.PATIENT_REPLY_OUTCOME_NOTHING_TO_ANSWER  # no longer confirmed (changed meanwhile)
        key = f"cancel-refused:{row.reservation_id}:{now.date().isoformat()}"  # one a day, as the help text
        await changes.text(conn, row, npb.MESSAGE_KIND_CANCEL_REFUSED, rules, key=key)
        return pb.PATIENT_REPLY_OUTCOME_CANCEL_REFUSED
    if row.status != "CONFIRMED":
        return pb.PATIENT_REPLY_OUTCOME_NOTHING_TO_ANSWER
    if reply.word in YES_WORDS:
        await ScheduleRepository.act_as(conn, ACTOR, f"replied {reply.word}")
        await ReminderRepository.confirm_attendance(conn, row.tenant_id, row.reservation_id, now)
        # One thank-you per appointment time, however often they say yes.
        key = f"attendance-confirmed:{row.reservation_id}:{row.starts_at.isoformat()}"
        await changes.text(conn, row, npb.MESSAGE_KIND_ATTENDANCE_CONFIRMED, rules, key=key)
        return pb.PATIENT_REPLY_OUTCOME_ATTENDANCE_CONFIRMED
    # At most one help text per appointment a day: replying nonsense cannot make the clinic text on.
    key = f"reply-help:{row.reservation_id}:{now.date().isoformat()}"
    await changes.text(conn, row, npb.MESSAGE_KIND_REPLY_HELP, rules, key=key)
    return pb.PATIENT_REPLY_OUTCOME_NOT_UNDERSTOOD
