"""join_waitlist through the real gateway (SPEC §3, §11): a verified caller joins in their words,
a freed time reaches them as a text offer, and their YES books it; an unverified caller is offered
a code first. Texts are read from what the Twilio imitation received."""

from __future__ import annotations

import asyncio

import asyncpg

from booking.reservation.v1 import reservation_pb2 as pb
from tests.conftest import Clock
from tests.functional.test_caller_identity import OTHER_PHONE, STRANGER, Phones, phones
from tests.functional.test_waitlist import DESK
from tests.functional.vapi_client import CALLER

__all__ = ["phones"]  # the fixture, shared with the caller-identity tests


async def offered(phones: Phones, pool: asyncpg.Pool) -> None:
    async with asyncio.timeout(10):
        while await pool.fetchval("SELECT count(*) FROM reservation.freed_slots WHERE done_at IS NULL"):
            await phones.stack.reservation.offers.run_once()
            await asyncio.sleep(0.02)


async def text_with(phones: Phones, phone: str, words: str) -> str:
    """The latest text to `phone` containing `words`, once relayed (the server's relay may hold it a moment)."""
    async with asyncio.timeout(10):
        while True:
            found = [b for b in phones.twilio.bodies_to(phone) if words in b]
            if found:
                return found[-1]
            await phones.deliver()
            await asyncio.sleep(0.02)


async def test_a_verified_caller_joins_is_texted_the_freed_time_and_books_it_with_yes(
    phones: Phones, pool: asyncpg.Pool
) -> None:
    appointment_id = await phones.book(STRANGER)
    joined = await phones.tool(
        "join_waitlist", {"date": "tomorrow", "service": "cleaning", "part_of_day": "morning"}, call="w", caller=CALLER
    )
    assert joined["ok"] and joined["from"] == joined["to"] == "2026-11-24" and joined["offer_minutes"] == 15
    assert joined["speech"] == (
        "You're on the waitlist for tomorrow in the morning. If a time opens up, I'll text the number ending in 4 2 "
        "and hold it for you for 15 minutes; just reply YES to book it."
    )
    again = await phones.tool("join_waitlist", {"date": "tomorrow", "service": "cleaning"}, call="w", caller=CALLER)
    assert not again["ok"] and again["cause"] == "ALREADY_ON_WAITLIST"

    await phones.stack.reservation_stub.StaffCancel(
        pb.StaffCancelRequest(tenant_id="demo", appointment_id=appointment_id, action=DESK)
    )
    await offered(phones, pool)
    offer = await text_with(phones, CALLER, "time opened up")
    assert offer.startswith("Acme Dental: a time opened up. Reply YES within 15 minutes to book Tue Nov 24 at 9:00 AM")

    answer = await phones.stack.reservation_stub.HandlePatientReply(
        pb.HandlePatientReplyRequest(tenant_id="demo", phone=CALLER, body="Yes", message_sid="SM-yes")
    )
    assert answer.outcome == pb.PATIENT_REPLY_OUTCOME_OFFER_ACCEPTED
    found = await phones.tool("find_appointments", {}, call="later", caller=CALLER)
    assert [a["appointment_id"] for a in found["appointments"]] == [answer.appointment_id]
    assert await text_with(phones, CALLER, "is confirmed for Tue Nov 24 at 9:00 AM")


async def test_a_caller_without_caller_id_is_offered_a_code_then_joins(phones: Phones) -> None:
    refused = await phones.tool("join_waitlist", {"date": "next week"}, call="web", caller="")
    assert not refused["ok"] and refused["cause"] == "VERIFICATION_REQUIRED"
    assert refused["speech"] == (
        "I need a mobile number to text you when a time opens up. What's the best number? I'll text you a code "
        "to confirm it."
    )
    not_theirs = await phones.tool("join_waitlist", {"date": "next week", "phone": OTHER_PHONE}, call="web", caller="")
    assert not not_theirs["ok"] and not_theirs["cause"] == "VERIFICATION_REQUIRED"
    await phones.verify(OTHER_PHONE, call="web", caller="")
    joined = await phones.tool("join_waitlist", {"from": "next monday", "to": "next friday"}, call="web", caller="")
    assert joined["ok"] and (joined["from"], joined["to"]) == ("2026-11-30", "2026-12-04")
    assert "for any day from Monday, November 30th to Friday, December 4th" in joined["speech"]
    assert "the number ending in 7 7" in joined["speech"]


async def test_a_spanish_caller_is_offered_the_freed_time_and_confirmed_in_spanish(
    phones: Phones, pool: asyncpg.Pool
) -> None:
    appointment_id = await phones.book(STRANGER)
    joined = await phones.tool(
        "join_waitlist", {"date": "mañana", "part_of_day": "morning", "language": "es"}, call="w-es", caller=CALLER
    )
    assert joined["ok"] and joined["speech"].startswith("Ya está en la lista de espera para mañana por la mañana.")
    assert await pool.fetchval("SELECT language FROM reservation.waitlist") == "es"

    await phones.stack.reservation_stub.StaffCancel(
        pb.StaffCancelRequest(tenant_id="demo", appointment_id=appointment_id, action=DESK)
    )
    await offered(phones, pool)
    offer = await text_with(phones, CALLER, "se liberó una hora")
    assert offer == (
        "Acme Dental: se liberó una hora. Responda YES en 15 minutos para reservar el martes 24 de nov. a las "
        "9:00 a.m. con Doctor Lee, o NO. Responda STOP para darse de baja."
    )
    answer = await phones.stack.reservation_stub.HandlePatientReply(
        pb.HandlePatientReplyRequest(tenant_id="demo", phone=CALLER, body="Sí", message_sid="SM-si")
    )
    assert answer.outcome == pb.PATIENT_REPLY_OUTCOME_OFFER_ACCEPTED
    confirmed = await text_with(phones, CALLER, "confirmamos su cita")
    assert confirmed.startswith("Acme Dental: confirmamos su cita de ") and "el martes 24 de nov. a las 9:00 a.m." in (
        confirmed
    )
    assert not [b for b in phones.twilio.bodies_to(CALLER) if "is confirmed" in b]  # the caller's booking was English


async def test_a_spanish_waiters_late_yes_is_told_in_spanish_that_the_offer_ended(
    phones: Phones, pool: asyncpg.Pool, clock: Clock
) -> None:
    appointment_id = await phones.book(STRANGER)
    joined = await phones.tool("join_waitlist", {"date": "mañana", "language": "es"}, call="w-es", caller=CALLER)
    assert joined["ok"]
    await phones.stack.reservation_stub.StaffCancel(
        pb.StaffCancelRequest(tenant_id="demo", appointment_id=appointment_id, action=DESK)
    )
    await offered(phones, pool)
    await text_with(phones, CALLER, "se liberó una hora")
    clock.advance(minutes=16)
    late = await phones.stack.reservation_stub.HandlePatientReply(
        pb.HandlePatientReplyRequest(tenant_id="demo", phone=CALLER, body="YES", message_sid="SM-late")
    )
    assert late.outcome == pb.PATIENT_REPLY_OUTCOME_OFFER_EXPIRED
    ended = await text_with(phones, CALLER, "terminó")
    assert ended == (
        "Acme Dental: lo sentimos, la oferta del martes 24 de nov. a las 9:00 a.m. terminó y esa hora ya no está "
        "apartada para usted."
    )
