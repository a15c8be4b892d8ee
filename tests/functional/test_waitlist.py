"""SPEC §11, the waitlist over gRPC: freed times offered by text to the first waiter they suit, held
for them; YES books, NO or silence passes it on; never two offers of one time, never a double
booking, never a declined time again. Real services, real PostgreSQL, a clock the test moves."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg
import grpc
import pytest

from booking.availability.v1 import availability_pb2 as apb
from booking.common.v1 import common_pb2 as C
from booking.notification.v1 import notification_pb2 as npb
from booking.reservation.v1 import reservation_pb2 as pb
from services.reservation.repository import ReservationRepository
from services.reservation.waitlist_offers import OfferWorker
from tests.conftest import Clock, Stack
from tests.functional.booking import CAUSE, book, hold, load_clinic, phone, ts, tuesday

DESK = pb.StaffAction(actor="desk:anna", reason="patient called")
ACCEPTED, DECLINED, EXPIRED = (
    pb.PATIENT_REPLY_OUTCOME_OFFER_ACCEPTED, pb.PATIENT_REPLY_OUTCOME_OFFER_DECLINED,
    pb.PATIENT_REPLY_OUTCOME_OFFER_EXPIRED,
)  # fmt: skip


async def join(stack: Stack, n: int, **fields: object) -> pb.JoinWaitlistResponse:
    """Waiter n (phone(n)) joins for Tuesday unless told otherwise, as the clinic's systems would."""
    values: dict[str, object] = {"date": tuesday(0).date().isoformat(), "service_id": "s30"} | fields
    reply: pb.JoinWaitlistResponse = await stack.reservation_stub.JoinWaitlist(
        pb.JoinWaitlistRequest(tenant_id="acme", phone=phone(n), patient_name=f"Waiter {n}", **values)  # type: ignore[arg-type]
    )
    return reply


async def cancel(stack: Stack, appointment: pb.Appointment) -> None:
    reply = await stack.reservation_stub.StaffCancel(
        pb.StaffCancelRequest(tenant_id="acme", appointment_id=appointment.appointment_id, action=DESK)
    )
    assert not reply.HasField("failure"), reply.failure


async def settle(stack: Stack, pool: asyncpg.Pool, *workers: OfferWorker) -> None:
    """Run offer workers (the server's, and any extra) until no freed time waits."""
    runners = workers or (stack.reservation.offers,)
    async with asyncio.timeout(10):
        while True:
            await asyncio.gather(*(w.run_once() for w in runners))
            if not await pool.fetchval("SELECT count(*) FROM reservation.freed_slots WHERE done_at IS NULL"):
                return
            await asyncio.sleep(0.02)


async def offers(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            "SELECT o.phone, o.status, o.starts_at, o.provider_id, r.status AS hold_status, r.patient_phone "
            "FROM reservation.waitlist_offers o JOIN reservation.reservations r "
            "ON r.tenant_id = o.tenant_id AND r.reservation_id = o.hold_id ORDER BY o.created_at, o.phone"
        )
    )


async def reply(stack: Stack, n: int, body: str, sid: str = "") -> pb.HandlePatientReplyResponse:
    answer: pb.HandlePatientReplyResponse = await stack.reservation_stub.HandlePatientReply(
        pb.HandlePatientReplyRequest(tenant_id="acme", phone=phone(n), body=body, message_sid=sid or f"SM-{n}-{body}")
    )
    return answer


async def texts_to(stack: Stack, pool: asyncpg.Pool, n: int) -> list[str]:
    """The texts for phone(n), as notification rendered them (reservation's outbox relayed first)."""
    async with asyncio.timeout(10):  # the server's own relay may be delivering them right now
        while await pool.fetchval("SELECT count(*) FROM reservation.outbox WHERE delivered_at IS NULL"):
            await stack.reservation.relay.run_once()
            await asyncio.sleep(0.02)
    rows = await pool.fetch(
        "SELECT body FROM notification.messages WHERE to_phone = $1 ORDER BY created_at, message_id", phone(n)
    )
    return [r["body"] for r in rows]


async def waiter_statuses(pool: asyncpg.Pool) -> dict[str, str]:
    return {r["phone"]: r["status"] for r in await pool.fetch("SELECT phone, status FROM reservation.waitlist")}


def starts(rows: Sequence[asyncpg.Record]) -> list[datetime]:
    return [r["starts_at"] for r in rows]


@pytest.fixture
async def clinic(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)


async def test_a_chain_of_three_waiters_timeout_no_yes(
    stack: Stack, clock: Clock, pool: asyncpg.Pool, clinic: None
) -> None:
    booked = await book(stack, tuesday(9), 90)
    for n in (1, 2, 3):
        joined = await join(stack, n)
        assert joined.HasField("entry") and joined.offer_minutes == 15, joined.failure
        clock.advance(seconds=1)  # joined one after the other
    await cancel(stack, booked)
    await settle(stack, pool)
    [first] = await offers(pool)
    assert (first["phone"], first["status"], first["hold_status"]) == (phone(1), "OFFERED", "HELD")
    assert first["starts_at"] == tuesday(9) and first["patient_phone"] == phone(1)
    assert (await texts_to(stack, pool, 1))[-1] == (
        "Acme Dental: a time opened up. Reply YES within 15 minutes to book Tue Jan 8 at 9:00 AM with Doctor One, "
        "or NO to pass. Reply STOP to opt out."
    )
    # Held for waiter 1: nobody else can take it meanwhile.
    taken = await hold(stack, tuesday(9), call="someone-else", patient_phone=phone(50))
    assert CAUSE(taken.failure.cause) == "FAILURE_CAUSE_SLOT_UNAVAILABLE"

    clock.advance(minutes=16)  # silence: the hold runs out and the sweeper marks it
    await ReservationRepository(pool).expire_holds(clock())
    await settle(stack, pool)
    assert [(o["phone"], o["hold_status"]) for o in await offers(pool)] == [(phone(1), "EXPIRED"), (phone(2), "HELD")]

    assert (await reply(stack, 2, "No thanks")).outcome == DECLINED
    await settle(stack, pool)
    assert [(o["phone"], o["status"]) for o in await offers(pool)] == [
        (phone(1), "OFFERED"), (phone(2), "DECLINED"), (phone(3), "OFFERED"),
    ]  # fmt: skip

    accepted = await reply(stack, 3, "YES!")
    assert accepted.outcome == ACCEPTED and accepted.appointment_id
    appointment = await stack.reservation_stub.GetAppointment(
        pb.GetAppointmentRequest(tenant_id="acme", appointment_id=accepted.appointment_id)
    )
    assert appointment.appointment.status == pb.RESERVATION_STATUS_CONFIRMED
    assert appointment.appointment.patient.phone == phone(3) and appointment.appointment.slot.start == ts(tuesday(9))
    assert (await texts_to(stack, pool, 3))[-1].startswith("Acme Dental: your short visit with Doctor One is confirmed")

    late = await reply(stack, 1, "yes")  # the offer that ran out
    assert late.outcome == EXPIRED
    assert (await texts_to(stack, pool, 1))[-1] == (
        "Acme Dental: sorry, the offer of Tue Jan 8 at 9:00 AM has ended and that time is no longer held for you."
    )
    assert await waiter_statuses(pool) == {phone(1): "WAITING", phone(2): "WAITING", phone(3): "BOOKED"}
    listed = await stack.reservation_stub.ListWaitlist(pb.ListWaitlistRequest(tenant_id="acme"))
    assert [e.patient.phone for e in listed.entries] == [phone(1), phone(2)]  # service token: whole numbers


async def test_the_same_reply_twice_is_one_answer(stack: Stack, clock: Clock, pool: asyncpg.Pool, clinic: None) -> None:
    booked = await book(stack, tuesday(9), 90)
    await join(stack, 1)
    await cancel(stack, booked)
    await settle(stack, pool)
    first, again = await reply(stack, 1, "Y", sid="SM-dup"), await reply(stack, 1, "Y", sid="SM-dup")
    assert first == again and first.outcome == ACCEPTED
    confirmed = await pool.fetchval(
        "SELECT count(*) FROM reservation.reservations WHERE status = 'CONFIRMED' AND patient_phone = $1", phone(1)
    )
    assert confirmed == 1
    assert (await reply(stack, 1, "maybe")).outcome == pb.PATIENT_REPLY_OUTCOME_NOTHING_TO_ANSWER
    assert (await reply(stack, 7, "yes")).outcome == pb.PATIENT_REPLY_OUTCOME_NOTHING_TO_ANSWER  # never offered


async def test_two_times_freed_at_once_go_to_two_waiters(
    stack: Stack, clock: Clock, pool: asyncpg.Pool, clinic: None
) -> None:
    nine, ten = await book(stack, tuesday(9), 90), await book(stack, tuesday(10), 91)
    await join(stack, 1)
    clock.advance(seconds=1)
    await join(stack, 2)
    await asyncio.gather(cancel(stack, nine), cancel(stack, ten))
    await settle(stack, pool)
    made = await offers(pool)
    assert sorted(o["phone"] for o in made) == [phone(1), phone(2)]  # one each: never two offers at once
    assert sorted(starts(made)) == [tuesday(9), tuesday(10)]


async def test_concurrent_cancellations_two_workers_no_double_offer_no_double_booking(
    stack: Stack, clock: Clock, pool: asyncpg.Pool, clinic: None
) -> None:
    times = [(tuesday(9) + timedelta(minutes=30 * i), p) for p in ("p1", "p2") for i in range(6)]
    appointments = [await book(stack, start, 100 + n, provider=p) for n, (start, p) in enumerate(times)]
    for n in range(15):  # more waiters than times
        await join(stack, n)
        clock.advance(seconds=1)
    second = OfferWorker(stack.reservation_deps)  # another replica's worker, on the same queue
    await asyncio.gather(*(cancel(stack, a) for a in appointments))
    await settle(stack, pool, stack.reservation.offers, second)
    made = await offers(pool)
    assert len(made) == len(times)
    assert len({o["phone"] for o in made}) == len(times), "a waiter holds two offers"
    assert len({(o["provider_id"], o["starts_at"]) for o in made}) == len(times), "a time was offered twice"
    assert {o["phone"] for o in made} == {phone(n) for n in range(len(times))}  # the earliest waiters
    answers = await asyncio.gather(*(reply(stack, n, "yes") for n in range(15)))
    assert sum(a.outcome == ACCEPTED for a in answers) == len(times)
    per_time = await pool.fetch(
        "SELECT provider_id, starts_at, count(*) AS n FROM reservation.reservations WHERE status = 'CONFIRMED' "
        "GROUP BY 1, 2"
    )
    assert len(per_time) == len(times) and all(r["n"] == 1 for r in per_time)


async def test_a_declined_time_is_never_offered_to_that_waiter_again(
    stack: Stack, clock: Clock, pool: asyncpg.Pool, clinic: None
) -> None:
    nine = await book(stack, tuesday(9), 90)
    await join(stack, 1)
    await cancel(stack, nine)
    await settle(stack, pool)
    assert (await reply(stack, 1, "no")).outcome == DECLINED
    await settle(stack, pool)
    assert len(await offers(pool)) == 1  # nobody else waits: the time stays free
    again = await book(stack, tuesday(9), 91)  # booked by someone, then freed once more
    await cancel(stack, again)
    await settle(stack, pool)
    assert len(await offers(pool)) == 1
    ten = await book(stack, tuesday(10), 92)  # another time is offered to them
    await cancel(stack, ten)
    await settle(stack, pool)
    assert starts(await offers(pool)) == [tuesday(9), tuesday(10)]


async def test_moved_appointments_and_unblocked_time_are_offered_by_part_of_day_and_provider(
    stack: Stack, clock: Clock, pool: asyncpg.Pool, clinic: None
) -> None:
    await join(stack, 1, part_of_day=apb.PART_OF_DAY_AFTERNOON)
    clock.advance(seconds=1)
    await join(stack, 2, provider_id="p2")
    clock.advance(seconds=1)
    await join(stack, 3)
    morning = await book(stack, tuesday(9), 90)
    moved = await stack.reservation_stub.StaffMove(
        pb.StaffMoveRequest(tenant_id="acme", appointment_id=morning.appointment_id, start=ts(tuesday(11)), action=DESK)
    )
    assert not moved.HasField("failure"), moved.failure
    await settle(stack, pool)  # 9:00 with p1, a morning: neither the afternoon waiter nor p2's
    assert [(o["phone"], o["starts_at"]) for o in await offers(pool)] == [(phone(3), tuesday(9))]
    block = await stack.reservation_stub.BlockTime(
        pb.BlockTimeRequest(
            tenant_id="acme", provider_id="p2", range=C.TimeRange(start=ts(tuesday(14)), end=ts(tuesday(15))),
            action=DESK,
        )
    )  # fmt: skip
    await stack.reservation_stub.UnblockTime(
        pb.UnblockTimeRequest(tenant_id="acme", block_id=block.block_id, action=DESK)
    )
    await settle(stack, pool)  # 14:00 with p2: the afternoon waiter joined first
    assert {(o["phone"], o["starts_at"]) for o in await offers(pool)} == {
        (phone(3), tuesday(9)),
        (phone(1), tuesday(14)),
    }


async def test_joining_twice_the_limit_and_dates_are_refused_with_causes(
    stack: Stack, clock: Clock, pool: asyncpg.Pool, clinic: None
) -> None:
    assert (await join(stack, 1)).HasField("entry")
    assert CAUSE((await join(stack, 1)).failure.cause) == "FAILURE_CAUSE_ALREADY_ON_WAITLIST"
    assert (await join(stack, 1, date="2030-01-09")).HasField("entry")
    assert (await join(stack, 1, service_id="s60")).HasField("entry")
    limit = await join(stack, 1, date="2030-01-10")
    assert CAUSE(limit.failure.cause) == "FAILURE_CAUSE_WAITLIST_LIMIT" and limit.failure.limit == 3
    past = await join(stack, 2, date="2030-01-02")
    assert CAUSE(past.failure.cause) == "FAILURE_CAUSE_DATE_IN_PAST"
    ranged = await join(stack, 2, date="", from_date="next week")
    assert ranged.entry.from_date == "2030-01-14" and ranged.entry.to_date == "2030-01-20"
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await join(stack, 2, service_id="nope")
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_caller_joins_only_with_a_phone_shown_to_be_theirs(
    stack: Stack, clock: Clock, pool: asyncpg.Pool, clinic: None
) -> None:
    async def as_caller(caller_phone: str, asked: str = "") -> pb.JoinWaitlistResponse:
        reply: pb.JoinWaitlistResponse = await stack.reservation_stub.JoinWaitlist(
            pb.JoinWaitlistRequest(
                tenant_id="acme",
                phone=asked,
                date="tomorrow",
                caller=pb.Caller(call_id="c1", caller_phone=caller_phone),
            )
        )
        return reply

    no_phone = await as_caller("")
    assert (CAUSE(no_phone.failure.cause), no_phone.failure.reason) == (
        "FAILURE_CAUSE_VERIFICATION_REQUIRED",
        "no_phone",
    )
    someone_else = await as_caller(phone(1), asked=phone(2))
    assert (CAUSE(someone_else.failure.cause), someone_else.failure.reason) == (
        "FAILURE_CAUSE_VERIFICATION_REQUIRED", "phone",
    )  # fmt: skip
    mine = await as_caller(phone(1))
    assert mine.entry.patient.phone == phone(1) and mine.phone_ending == phone(1)[-2:]
    assert mine.entry.from_date == mine.entry.to_date == "2030-01-08"


async def test_leaving_releases_a_held_offer_to_the_next_waiter(
    stack: Stack, clock: Clock, pool: asyncpg.Pool, clinic: None
) -> None:
    booked = await book(stack, tuesday(9), 90)
    first = await join(stack, 1)
    clock.advance(seconds=1)
    await join(stack, 2)
    await cancel(stack, booked)
    await settle(stack, pool)
    listed = await stack.reservation_stub.ListWaitlist(pb.ListWaitlistRequest(tenant_id="acme"))
    assert listed.entries[0].offer.slot.start == ts(tuesday(9)) and not listed.entries[1].HasField("offer")
    left = await stack.reservation_stub.LeaveWaitlist(
        pb.LeaveWaitlistRequest(tenant_id="acme", waitlist_id=first.entry.waitlist_id)
    )
    assert left.left
    await settle(stack, pool)
    assert [(o["phone"], o["status"]) for o in await offers(pool)] == [(phone(1), "EXPIRED"), (phone(2), "OFFERED")]
    assert (await reply(stack, 1, "yes")).outcome == EXPIRED


async def test_offers_are_texted_through_the_outbox_with_their_kind(
    stack: Stack, clock: Clock, pool: asyncpg.Pool, clinic: None
) -> None:
    booked = await book(stack, tuesday(9), 90)
    await join(stack, 1)
    await cancel(stack, booked)
    await settle(stack, pool)
    payloads = await pool.fetch("SELECT payload FROM reservation.outbox WHERE dedupe_key LIKE 'waitlist-offer:%'")
    [request] = [npb.EnqueueSmsRequest.FromString(r["payload"]) for r in payloads]
    assert request.kind == npb.MESSAGE_KIND_WAITLIST_OFFER and request.appointment.reply_within_minutes == 15
    assert request.to == phone(1)
