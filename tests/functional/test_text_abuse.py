"""Texts cannot be abused (SMS pumping): per call at most 3 numbers and 5 codes, a clinic-wide hourly
budget, only textable numbers of the clinic's regions, decided under concurrency in one transaction;
a reply is kept only once notification took the code; codes to an appointment's number; a spoken
number that was verified books."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC
from typing import Any

import asyncpg
import grpc

from booking.availability.v1 import availability_pb2 as apb
from booking.notification.v1 import notification_pb2, notification_pb2_grpc
from booking.reservation.v1 import reservation_pb2 as pb
from devkit.processes import ROOT
from services.availability.clinic_file import load_clinic_file, parse_clinic
from tests.conftest import Clock, Stack
from tests.functional.booking import CAUSE, CLINIC, NOW, book, hold, phone, tuesday
from tests.functional.vapi_client import CALLER, MONDAY_7AM, SECRET, call_tool, gateway_client


async def load(stack: Stack, clock: Clock, **top: Any) -> None:
    """The test clinic, with rules and top-level fields changed."""
    rules = {**CLINIC["rules"], **top.pop("rules", {})}  # type: ignore[dict-item]
    clock.now = NOW.astimezone(UTC)
    config = parse_clinic({**CLINIC, "rules": rules, **top}, {})
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=config))


async def send(stack: Stack, number: str, call: str = "call-x", key: str = "", **fields: str) -> pb.SendOtpResponse:
    reply: pb.SendOtpResponse = await stack.reservation_stub.SendOtp(
        pb.SendOtpRequest(tenant_id="acme", phone=number, call_id=call, idempotency_key=key, **fields)
    )
    return reply


def said(reply: pb.SendOtpResponse) -> tuple[str, str, int]:
    return CAUSE(reply.failure.cause), reply.failure.reason, reply.failure.limit


async def texted(pool: asyncpg.Pool) -> list[str]:
    """The numbers codes were texted to, one entry per text."""
    rows = await pool.fetch("SELECT to_phone FROM notification.messages WHERE kind = 'OTP'")
    return [r["to_phone"] for r in rows]


async def code_texted_to(pool: asyncpg.Pool, number: str) -> str:
    body = await pool.fetchval(
        "SELECT body FROM notification.messages WHERE kind = 'OTP' AND to_phone = $1 ORDER BY created_at DESC LIMIT 1",
        number,
    )
    match = re.search(r"code is (\d{6})", body or "")
    assert match, body
    return match.group(1)


async def test_twenty_concurrent_sends_in_one_call_text_three_numbers_and_at_most_five_codes(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load(stack, clock)
    numbers = [phone(n) for n in range(1, 7)]
    replies = await asyncio.gather(*(send(stack, numbers[i % 6]) for i in range(20)))
    sent = await texted(pool)
    assert len(set(sent)) <= 3 and len(sent) == sum(r.sent for r in replies) == 5
    refusals = {said(r)[:2] for r in replies if not r.sent}
    assert refusals <= {
        ("FAILURE_CAUSE_OTP_SEND_LIMIT", "per_call_numbers"),
        ("FAILURE_CAUSE_OTP_SEND_LIMIT", "per_call_codes"),
    }
    # Another call is not held back by this one.
    assert (await send(stack, numbers[5], call="call-y")).sent


async def test_twelve_concurrent_sends_in_one_call_to_twelve_numbers_text_exactly_three(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load(stack, clock)
    replies = await asyncio.gather(*(send(stack, phone(n)) for n in range(12)))
    assert sum(r.sent for r in replies) == 3 and len(set(await texted(pool))) == 3
    assert {said(r) for r in replies if not r.sent} == {("FAILURE_CAUSE_OTP_SEND_LIMIT", "per_call_numbers", 3)}


async def test_a_call_stops_at_five_codes_even_to_one_number(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    await load(stack, clock)
    first = [await send(stack, phone(1)) for _ in range(2)] + [await send(stack, phone(2)) for _ in range(3)]
    assert all(r.sent for r in first)
    clock.advance(minutes=11)  # the per-phone window moved on; the call's count did not
    assert said(await send(stack, phone(1))) == ("FAILURE_CAUSE_OTP_SEND_LIMIT", "per_call_codes", 5)


async def test_a_clinic_budget_of_four_texts_exactly_four_codes_to_ten_concurrent_calls(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load(stack, clock, rules={"max_codes_per_hour": 4})
    replies = await asyncio.gather(*(send(stack, phone(n), call=f"call-{n}") for n in range(10)))
    assert sum(r.sent for r in replies) == 4 and len(await texted(pool)) == 4
    assert {said(r) for r in replies if not r.sent} == {("FAILURE_CAUSE_OTP_SEND_LIMIT", "tenant_budget", 4)}
    clock.advance(hours=1, seconds=1)
    assert (await send(stack, phone(11), call="call-11")).sent  # the hour moved on


async def test_a_clinic_budget_of_zero_sends_no_code(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    await load(stack, clock, rules={"max_codes_per_hour": 0})
    assert said(await send(stack, phone(1))) == ("FAILURE_CAUSE_OTP_SEND_LIMIT", "tenant_budget", 0)
    assert await texted(pool) == []


async def test_only_textable_numbers_of_the_clinics_regions_receive_codes(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load(stack, clock)
    assert said(await send(stack, "+14165550100")) == ("FAILURE_CAUSE_INVALID_PHONE", "country_not_allowed", 0)
    assert said(await send(stack, "+447400123456")) == ("FAILURE_CAUSE_INVALID_PHONE", "country_not_allowed", 0)
    assert said(await send(stack, "+18005550100")) == ("FAILURE_CAUSE_INVALID_PHONE", "cannot_receive_sms", 0)
    assert said(await send(stack, "+19005550100")) == ("FAILURE_CAUSE_INVALID_PHONE", "cannot_receive_sms", 0)
    assert await texted(pool) == []
    await load(stack, clock, sms_countries=["US", "GB"], default_region="US")
    await asyncio.sleep(2.1)  # reservation keeps the clinic's rules for up to 2 s
    assert (await send(stack, "+447400123456", call="call-gb")).sent
    assert said(await send(stack, "+442071234567", call="call-gb")) == (
        "FAILURE_CAUSE_INVALID_PHONE", "cannot_receive_sms", 0
    )  # fmt: skip


async def test_a_send_that_notification_could_not_take_is_not_kept_and_its_repeat_texts(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load(stack, clock)
    nowhere = grpc.aio.insecure_channel("127.0.0.1:1")  # nothing listens on port 1
    working = stack.reservation_deps.notification
    stack.reservation_deps.notification = notification_pb2_grpc.NotificationServiceStub(nowhere)
    try:
        down = await send(stack, phone(5), key="acme:tool-1")
    finally:
        stack.reservation_deps.notification = working
        await nowhere.close()
    assert said(down) == ("FAILURE_CAUSE_SEND_FAILED", "", 0) and await texted(pool) == []
    again = await asyncio.gather(*(send(stack, phone(5), key="acme:tool-1") for _ in range(5)))
    assert all(r.sent for r in again) and len({r.SerializeToString() for r in again}) == 1
    assert await texted(pool) == [phone(5)]
    assert (await send(stack, phone(5), key="acme:tool-1")).sent and len(await texted(pool)) == 1
    # The void code counts for no limit: four more fit in the window.
    assert all([(await send(stack, phone(5), call=f"other-{i}")).sent for i in range(4)])


async def test_a_code_to_the_number_on_an_appointment_reveals_only_its_last_two_digits(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load(stack, clock)
    appointment = await book(stack, tuesday(10), 37)
    reply = await send(stack, "", call="call-z", appointment_id=appointment.appointment_id)
    assert reply.sent and reply.phone_tail == "37"
    assert phone(37) not in str(reply) and await texted(pool) == [phone(37)]
    code = await code_texted_to(pool, phone(37))
    verified = await stack.reservation_stub.VerifyOtp(
        pb.VerifyOtpRequest(tenant_id="acme", call_id="call-z", code=code)
    )
    assert verified.verified
    missing = await send(stack, "", appointment_id="00000000-0000-0000-0000-000000000000")
    assert said(missing) == ("FAILURE_CAUSE_NOT_FOUND", "appointment_not_found", 0)
    held = await hold(stack, tuesday(11), call="call-h")  # a hold is not an appointment
    assert said(await send(stack, "", appointment_id=held.hold.hold_id))[1] == "appointment_not_found"


async def test_an_appointment_without_a_phone_has_no_number_to_text(stack: Stack, clock: Clock) -> None:
    await load(stack, clock)
    held = await hold(stack, tuesday(10), call="call-n")
    confirmed = await stack.reservation_stub.ConfirmHold(
        pb.ConfirmHoldRequest(tenant_id="acme", hold_id=held.hold.hold_id, call_id="call-n")
    )
    reply = await send(stack, "", appointment_id=confirmed.appointment.appointment_id)
    assert said(reply) == ("FAILURE_CAUSE_INVALID_PHONE", "no_phone_on_appointment", 0)


async def spoken_clinic(stack: Stack, clock: Clock, *, allowed: bool) -> None:
    """The demo clinic, with or without allow_spoken_phone_for_otp."""
    clock.now = MONDAY_7AM.astimezone(UTC)
    config = load_clinic_file(ROOT / "clinics" / "demo.yaml", {"DEMO_TENANT_SECRET": SECRET})
    config.rules.allow_spoken_phone_for_otp = allowed
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=config))


SPOKEN = "+12125550177"


async def book_by_phone(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> dict[str, Any]:
    """Through the real gateway: hold (caller id A), code to the spoken number B, verify, confirm."""
    async with gateway_client(stack, clock) as client:
        found = await call_tool(client, "check_availability", {"date": "tomorrow"}, tool_call_id="t1")
        held = await call_tool(client, "reserve_slot", {"slot_id": found["slots"][0]["slot_id"]}, tool_call_id="t2")
        assert held["ok"], held
        sent = await call_tool(client, "send_otp", {"phone": "212 555 0177"}, tool_call_id="t3")
        assert sent["ok"], sent
        texted_to = (await texted(pool))[-1]
        code = await code_texted_to(pool, texted_to)
        assert (await call_tool(client, "verify_otp", {"code": code}, tool_call_id="t4"))["ok"]
        booked = await call_tool(client, "confirm_booking", {}, tool_call_id="t5")
        return {"sent": sent, "texted_to": texted_to, "booked": booked}


async def confirmation_to(pool: asyncpg.Pool) -> list[str]:
    rows = await pool.fetch("SELECT payload FROM reservation.outbox")
    return [notification_pb2.EnqueueSmsRequest.FromString(bytes(r["payload"])).to for r in rows]


async def test_a_verified_spoken_number_books_when_the_clinic_allows_it(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await spoken_clinic(stack, clock, allowed=True)
    done = await book_by_phone(stack, clock, pool)
    assert done["texted_to"] == SPOKEN and "ending in 7 7" in done["sent"]["speech"]
    assert done["booked"]["ok"], done["booked"]
    row = await pool.fetchrow("SELECT status, patient_phone FROM reservation.reservations")
    assert row is not None and (row["status"], row["patient_phone"]) == ("CONFIRMED", SPOKEN)
    assert await confirmation_to(pool) == [SPOKEN]


async def test_without_the_option_codes_and_bookings_stay_on_the_caller_id(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await spoken_clinic(stack, clock, allowed=False)
    done = await book_by_phone(stack, clock, pool)
    assert done["texted_to"] == CALLER and done["booked"]["ok"]
    row = await pool.fetchrow("SELECT patient_phone FROM reservation.reservations")
    assert row is not None and row["patient_phone"] == CALLER
    assert await confirmation_to(pool) == [CALLER]


async def test_without_the_option_another_verified_number_does_not_book(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load(stack, clock)
    held = await hold(stack, tuesday(10), service="verified", call="call-s", patient_phone=phone(1))
    assert (await send(stack, phone(2), call="call-s")).sent
    code = await code_texted_to(pool, phone(2))
    verify = pb.VerifyOtpRequest(tenant_id="acme", call_id="call-s", code=code)
    assert (await stack.reservation_stub.VerifyOtp(verify)).verified
    confirm = pb.ConfirmHoldRequest(tenant_id="acme", hold_id=held.hold.hold_id, call_id="call-s")
    assert CAUSE((await stack.reservation_stub.ConfirmHold(confirm)).failure.cause) == "FAILURE_CAUSE_OTP_REQUIRED"
