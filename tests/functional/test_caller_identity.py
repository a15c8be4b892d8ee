"""Callers only ever hear and change their own bookings (SPEC §3, caller identity), through the
real gateway, services and database; codes are read from what the Twilio imitation received."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from booking.availability.v1 import availability_pb2 as apb
from booking.common.v1 import common_pb2
from booking.reservation.v1 import reservation_pb2 as pb
from devkit.processes import ROOT
from devkit.twilio_fake import FakeTwilio, fake_twilio
from services.availability.clinic_file import load_clinic_file
from services.notification.relay import MessageRelay
from services.notification.senders import TwilioSender
from tests.conftest import Clock, GatewayClient, Stack
from tests.functional.vapi_client import CALLER, SECRET, call_tool, gateway_client, load_demo

STRANGER = "+12125550199"
OTHER_PHONE = "+12125550177"
OFFER_CODE = "To protect your privacy I need to confirm it's you. Shall I text a code to the number on the appointment?"
OFFER_CODE_TO_THAT_NUMBER = "To protect your privacy I need to confirm it's you. Shall I text a code to that number?"
CHANGES = ("send_confirmation", "cancel_appointment", "reschedule_appointment")


@dataclass
class Phones:
    """The gateway, the services and the 'Twilio' that receives every text."""

    stack: Stack
    client: GatewayClient
    twilio: FakeTwilio
    relay: MessageRelay
    pool: asyncpg.Pool
    calls: int = 0

    async def tool(self, name: str, args: dict[str, Any], *, call: str, caller: str) -> dict[str, Any]:
        self.calls += 1
        return await call_tool(self.client, name, args, tool_call_id=f"tc-{self.calls}", call_id=call, caller=caller)

    async def deliver(self) -> None:
        await self.stack.reservation.relay.run_once()
        await self.relay.run_once()

    async def code_sent_to(self, phone: str, before: int) -> str:
        """The code in the first text to `phone` after its first `before` texts that holds one (other
        texts, e.g. a confirmation, may arrive in between)."""
        async with asyncio.timeout(10):
            while True:
                codes = [re.search(r"code is (\d{6})", b) for b in self.twilio.bodies_to(phone)[before:]]
                found = next((c.group(1) for c in codes if c is not None), None)
                if found is not None:
                    return found
                await self.deliver()
                await asyncio.sleep(0.02)

    async def verify(self, phone: str, *, call: str, caller: str) -> None:
        """Text a code to `phone` in this call and read it back, as its owner would."""
        before = len(self.twilio.bodies_to(phone))
        sent = await self.tool("send_otp", {"phone": phone}, call=call, caller=caller)
        assert sent["ok"], sent
        code = await self.code_sent_to(phone, before)
        assert (await self.tool("verify_otp", {"code": code}, call=call, caller=caller))["ok"]

    async def book(self, phone: str = CALLER, *, hour_index: int = 0) -> str:
        """An appointment booked by `phone`'s owner calling from it; its id."""
        call = f"booking-{phone}-{hour_index}"
        found = await self.tool("check_availability", {"date": "tomorrow", "limit": 20}, call=call, caller=phone)
        slot = found["slots"][hour_index]
        held = await self.tool(
            "reserve_slot", {"slot_id": slot["slot_id"], "patient_name": "Ada"}, call=call, caller=phone
        )
        assert held["ok"], held
        await self.verify(phone, call=call, caller=phone)
        booked = await self.tool("confirm_booking", {}, call=call, caller=phone)
        assert booked["ok"], booked
        return str(booked["appointment_id"])

    async def later_slot(self, call: str, caller: str) -> str:
        later = await self.tool("check_availability", {"date": "tomorrow afternoon"}, call=call, caller=caller)
        return str(later["slots"][0]["slot_id"])

    async def unchanged(self, appointment_id: str) -> None:
        row = await self.pool.fetchrow(
            "SELECT status, version FROM reservation.reservations WHERE reservation_id = $1::uuid", appointment_id
        )
        assert row is not None and row["status"] == "CONFIRMED"
        assert await self.resends(appointment_id) == 0

    async def resends(self, appointment_id: str) -> int:
        value = await self.pool.fetchval(
            "SELECT count(*) FROM reservation.outbox WHERE dedupe_key LIKE 'confirmation-resend:' || $1 || ':%'",
            appointment_id,
        )
        return int(value)


@pytest.fixture
async def phones(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> AsyncIterator[Phones]:
    await load_demo(stack, clock)
    async with fake_twilio() as twilio, gateway_client(stack, clock) as client:
        sender = TwilioSender("AC" + "3" * 32, "token", from_number="+12125550100", base_url=twilio.url)
        try:
            yield Phones(stack, client, twilio, MessageRelay(pool, sender), pool)
        finally:
            await sender.close()


def arguments(tool: str, appointment_id: str, slot_id: str) -> dict[str, str]:
    return {"appointment_id": appointment_id} | ({"slot_id": slot_id} if tool == "reschedule_appointment" else {})


def says_nothing_of(result: dict[str, Any], appointment_id: str) -> bool:
    text = json.dumps(result)
    told = {k for k in result if k not in ("ok", "speech", "cause", "alternatives")}
    return not told and not result.get("alternatives") and appointment_id not in text and "Doctor" not in text


async def refused_everything(phones: Phones, appointment_id: str, *, call: str, caller: str) -> None:
    slot_id = await phones.later_slot(call, caller)
    for tool in CHANGES:
        result = await phones.tool(tool, arguments(tool, appointment_id, slot_id), call=call, caller=caller)
        assert not result["ok"] and result["cause"] == "VERIFICATION_REQUIRED", (tool, result)
        assert result["speech"] == OFFER_CODE and says_nothing_of(result, appointment_id), (tool, result)
    await phones.unchanged(appointment_id)


async def test_the_caller_id_of_the_appointment_hears_and_changes_it(phones: Phones) -> None:
    appointment_id = await phones.book()
    found = await phones.tool("find_appointments", {}, call="later", caller=CALLER)
    assert [a["appointment_id"] for a in found["appointments"]] == [appointment_id]
    sent = await phones.tool("send_confirmation", {"appointment_id": appointment_id}, call="later", caller=CALLER)
    assert sent["ok"] and sent["speech"] == "I've sent the confirmation to the number ending in 4 2."
    slot_id = await phones.later_slot("later", CALLER)
    moved = await phones.tool(
        "reschedule_appointment", {"appointment_id": appointment_id, "slot_id": slot_id}, call="later", caller=CALLER
    )
    assert moved["ok"], moved
    cancelled = await phones.tool("cancel_appointment", {"appointment_id": appointment_id}, call="later", caller=CALLER)
    assert cancelled["ok"] and cancelled["status"] == "CANCELED"


async def test_a_call_without_caller_id_hears_nothing_until_a_code(phones: Phones) -> None:
    appointment_id = await phones.book()
    await refused_everything(phones, appointment_id, call="web", caller="")
    found = await phones.tool("find_appointments", {"phone": "(212) 555-0142"}, call="web", caller="")
    assert found == {"ok": False, "speech": OFFER_CODE_TO_THAT_NUMBER, "cause": "VERIFICATION_REQUIRED"}
    missing = await phones.tool("find_appointments", {}, call="web", caller="")
    assert missing["cause"] == "MISSING_ARGUMENT"

    await phones.verify(CALLER, call="web", caller="")  # the patient reads out the code texted to them
    found = await phones.tool("find_appointments", {"phone": "(212) 555-0142"}, call="web", caller="")
    assert [a["appointment_id"] for a in found["appointments"]] == [appointment_id]
    sent = await phones.tool("send_confirmation", {"appointment_id": appointment_id}, call="web", caller="")
    assert sent["ok"], sent
    cancelled = await phones.tool("cancel_appointment", {"appointment_id": appointment_id}, call="web", caller="")
    assert cancelled["ok"] and cancelled["status"] == "CANCELED"


async def test_a_strangers_caller_id_hears_nothing_of_anothers_appointment(phones: Phones) -> None:
    appointment_id = await phones.book()
    await refused_everything(phones, appointment_id, call="stranger", caller=STRANGER)
    spoken = await phones.tool("find_appointments", {"phone": CALLER}, call="stranger", caller=STRANGER)
    assert spoken == {"ok": False, "speech": OFFER_CODE_TO_THAT_NUMBER, "cause": "VERIFICATION_REQUIRED"}
    own = await phones.tool("find_appointments", {}, call="stranger", caller=STRANGER)
    assert own["ok"] and own["appointments"] == []  # their own number: heard, and empty

    # A code verified for their own number proves nothing about someone else's.
    await phones.verify(STRANGER, call="stranger", caller=STRANGER)
    await refused_everything(phones, appointment_id, call="stranger", caller=STRANGER)
    # A code verified in another call does not count in this one.
    await phones.verify(CALLER, call="patients-own-call", caller=CALLER)
    await refused_everything(phones, appointment_id, call="stranger", caller=STRANGER)


async def test_a_number_verified_in_the_call_counts_from_any_phone(phones: Phones) -> None:
    appointment_id = await phones.book()
    await phones.verify(CALLER, call="from-work", caller="")  # verified first on a web call leg
    found = await phones.tool("find_appointments", {"phone": CALLER}, call="from-work", caller=OTHER_PHONE)
    assert [a["appointment_id"] for a in found["appointments"]] == [appointment_id]
    slot_id = await phones.later_slot("from-work", OTHER_PHONE)
    moved = await phones.tool(
        "reschedule_appointment", {"appointment_id": appointment_id, "slot_id": slot_id},
        call="from-work", caller=OTHER_PHONE,
    )  # fmt: skip
    assert moved["ok"], moved


async def test_an_unknown_id_is_answered_like_someone_elses(phones: Phones) -> None:
    await phones.book()
    unknown = "00000000-0000-4000-8000-000000000000"
    for appointment_id in (unknown, "not-an-id"):
        slot_id = await phones.later_slot("mine", CALLER)
        for tool in CHANGES:
            result = await phones.tool(tool, arguments(tool, appointment_id, slot_id), call="mine", caller=CALLER)
            assert result["cause"] == "VERIFICATION_REQUIRED" and result["speech"] == OFFER_CODE, (tool, result)
    # The clinic's own systems are told plainly.
    reply = await phones.stack.reservation_stub.GetAppointment(
        pb.GetAppointmentRequest(tenant_id="demo", appointment_id=unknown)
    )
    assert reply.failure.cause == common_pb2.FAILURE_CAUSE_NOT_FOUND


async def test_the_clinics_own_systems_see_and_change_any_appointment(phones: Phones) -> None:
    appointment_id = await phones.book()
    stub = phones.stack.reservation_stub
    got = await stub.GetAppointment(pb.GetAppointmentRequest(tenant_id="demo", appointment_id=appointment_id))
    assert got.appointment.patient.phone == CALLER
    found = await stub.FindAppointments(pb.FindAppointmentsRequest(tenant_id="demo", phone=CALLER))
    assert [a.appointment_id for a in found.appointments] == [appointment_id]
    sent = await stub.ResendConfirmation(
        pb.ResendConfirmationRequest(tenant_id="demo", appointment_id=appointment_id, idempotency_key="staff-1")
    )
    assert sent.sent and sent.phone_ending == "42"
    # The same RPC for a caller who has proven nothing: refused, and nothing of the appointment.
    stranger = pb.Caller(call_id="c", caller_phone=STRANGER)
    hidden = await stub.GetAppointment(
        pb.GetAppointmentRequest(tenant_id="demo", appointment_id=appointment_id, caller=stranger)
    )
    assert not hidden.HasField("appointment") and hidden.failure.reason == "appointment"
    assert hidden.failure.cause == common_pb2.FAILURE_CAUSE_VERIFICATION_REQUIRED
    cancelled = await stub.CancelAppointment(
        pb.CancelAppointmentRequest(tenant_id="demo", appointment_id=appointment_id, reason="staff")
    )
    assert cancelled.appointment.status == pb.RESERVATION_STATUS_CANCELED


async def test_a_clinic_that_verifies_changes_by_code_wants_a_code_even_from_the_caller_id(
    phones: Phones, clock: Clock
) -> None:
    config = load_clinic_file(ROOT / "clinics" / "demo.yaml", {"DEMO_TENANT_SECRET": SECRET})
    config.rules.verify_changes_by_code = True
    await phones.stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=config))
    appointment_id = await phones.book()  # booking verified a code, but in the booking's own call
    await refused_everything(phones, appointment_id, call="later", caller=CALLER)
    own = await phones.tool("find_appointments", {}, call="later", caller=CALLER)
    assert own["cause"] == "VERIFICATION_REQUIRED" and own["speech"] == OFFER_CODE_TO_THAT_NUMBER
    await phones.verify(CALLER, call="later", caller=CALLER)
    found = await phones.tool("find_appointments", {}, call="later", caller=CALLER)
    assert [a["appointment_id"] for a in found["appointments"]] == [appointment_id]
    # A verification counts for two hours of the call, not for ever.
    clock.advance(hours=2, minutes=1)
    late = await phones.tool("send_confirmation", {"appointment_id": appointment_id}, call="later", caller=CALLER)
    assert late["cause"] == "VERIFICATION_REQUIRED"


async def test_ten_concurrent_resends_in_one_call_queue_one_text(phones: Phones) -> None:
    appointment_id = await phones.book()
    results = await asyncio.gather(
        *(
            call_tool(
                phones.client,
                "send_confirmation",
                {"appointment_id": appointment_id},
                tool_call_id=f"resend-{n}",
                call_id="again",
                caller=CALLER,
            )
            for n in range(10)
        )
    )
    assert all(r["ok"] and r["sent"] for r in results)
    assert await phones.resends(appointment_id) == 1
    # A new version (the appointment moved) is texted again in the same call.
    slot_id = await phones.later_slot("again", CALLER)
    moved = await phones.tool(
        "reschedule_appointment", {"appointment_id": appointment_id, "slot_id": slot_id}, call="again", caller=CALLER
    )
    assert moved["ok"]
    assert (await phones.tool("send_confirmation", {"appointment_id": appointment_id}, call="again", caller=CALLER))[
        "ok"
    ]
    assert await phones.resends(appointment_id) == 2


async def test_three_resends_a_day_per_appointment(phones: Phones, clock: Clock) -> None:
    appointment_id = await phones.book()
    for n in range(3):
        sent = await phones.tool("send_confirmation", {"appointment_id": appointment_id}, call=f"c{n}", caller=CALLER)
        assert sent["ok"], sent
    over = await phones.tool("send_confirmation", {"appointment_id": appointment_id}, call="c3", caller=CALLER)
    assert over == {
        "ok": False, "cause": "OTP_SEND_LIMIT",
        "speech": "I've already re-sent that confirmation 3 times today; please check your messages.",
    }  # fmt: skip
    assert await phones.resends(appointment_id) == 3
    clock.advance(days=1, seconds=1)
    assert (await phones.tool("send_confirmation", {"appointment_id": appointment_id}, call="c4", caller=CALLER))["ok"]


async def test_moving_there_and_back_twice_texts_four_times(phones: Phones) -> None:
    appointment_id = await phones.book()
    found = await phones.tool("check_availability", {"date": "tomorrow", "limit": 30}, call="moves", caller=CALLER)
    first, later = found["slots"][0]["slot_id"], await phones.later_slot("moves", CALLER)
    for target in (later, first, later, first):
        moved = await phones.tool(
            "reschedule_appointment", {"appointment_id": appointment_id, "slot_id": target}, call="moves", caller=CALLER
        )
        assert moved["ok"], moved
    keys = await phones.pool.fetch(
        "SELECT dedupe_key FROM reservation.outbox WHERE dedupe_key LIKE 'reschedule:%' ORDER BY outbox_id"
    )
    assert len({r["dedupe_key"] for r in keys}) == 4
    async with asyncio.timeout(10):
        while len(phones.twilio.bodies_to(CALLER)) < 2 + 4:  # code, confirmation, four moves
            await phones.deliver()
            await asyncio.sleep(0.02)
    texted = await phones.pool.fetchval(
        "SELECT count(*) FROM notification.messages WHERE dedupe_key LIKE 'reschedule:%' AND to_phone = $1", CALLER
    )
    assert texted == 4
