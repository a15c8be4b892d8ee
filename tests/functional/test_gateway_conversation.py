"""The whole conversation over HTTP through the real gateway, services, database and the real
twilio library against a local Twilio imitation."""

from __future__ import annotations

import asyncio
import re

import asyncpg

from devkit.twilio_fake import fake_twilio
from services.notification.relay import MessageRelay
from services.notification.senders import TwilioSender
from tests.conftest import Clock, Stack
from tests.functional.vapi_client import CALLER, call_tool, gateway_client, load_demo


async def deliver_texts(stack: Stack, relay: MessageRelay) -> None:
    """Push the reservation outbox to notification, then notification's queue to 'Twilio'."""
    await stack.reservation.relay.run_once()
    await relay.run_once()


async def test_full_conversation(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    await load_demo(stack, clock)
    async with fake_twilio() as twilio, gateway_client(stack, clock) as client:
        sender = TwilioSender("AC" + "2" * 32, "token", from_number="+12125550100", base_url=twilio.url)
        relay = MessageRelay(pool, sender)
        try:
            found = await call_tool(client, "check_availability", {"date": "tomorrow"}, tool_call_id="t1")
            assert found["ok"] and found["speech"].startswith("I have tomorrow at 9 AM")
            first = found["slots"][0]
            assert first["when"] == "tomorrow at 9 AM" and "T" not in found["speech"]

            held = await call_tool(
                client, "reserve_slot", {"slot_id": first["slot_id"], "patient_name": "Ada Lovelace"}, tool_call_id="t2"
            )
            assert (
                held["ok"]
                and held["speech"] == "I'm holding tomorrow at 9 AM with Doctor Lee for you for the next 10 minutes."
            )

            before = await call_tool(
                client, "check_availability", {"date": "tomorrow", "provider": "Lee"}, tool_call_id="t3"
            )
            assert first["slot_id"] not in [s["slot_id"] for s in before["slots"]]  # held time disappears

            sent = await call_tool(client, "send_otp", {}, tool_call_id="t4")
            assert sent["ok"] and "ending in 4 2" in sent["speech"]
            async with asyncio.timeout(10):
                while not twilio.bodies_to(CALLER):
                    await deliver_texts(stack, relay)
                    await asyncio.sleep(0.05)
            code = re.search(r"code is (\d{6})", twilio.bodies_to(CALLER)[-1])
            assert code is not None
            verified = await call_tool(client, "verify_otp", {"code": " ".join(code.group(1))}, tool_call_id="t5")
            assert verified["ok"], verified

            booked = await call_tool(client, "confirm_booking", {}, tool_call_id="t6")
            assert booked["ok"] and booked["speech"].startswith(
                "You're booked: a dental cleaning with Doctor Lee tomorrow at 9 AM."
            )
            appointment_id = booked["appointment_id"]
            async with asyncio.timeout(10):  # the reservation's own relay may be mid-delivery too
                while not any("is confirmed for Tue Nov 24 at 9:00 AM" in b for b in twilio.bodies_to(CALLER)):
                    await deliver_texts(stack, relay)
                    await asyncio.sleep(0.05)

            mine = await call_tool(client, "find_appointments", {}, tool_call_id="t7")
            assert [a["appointment_id"] for a in mine["appointments"]] == [appointment_id]
            assert (
                mine["speech"]
                == "You have one upcoming appointment: a dental cleaning with Doctor Lee tomorrow at 9 AM."
            )

            later = await call_tool(
                client,
                "check_availability",
                {"date": "tomorrow afternoon", "provider": "Doctor Lee"},
                tool_call_id="t8",
            )
            target = later["slots"][0]
            moved = await call_tool(
                client,
                "reschedule_appointment",
                {"appointment_id": appointment_id, "slot_id": target["slot_id"]},
                tool_call_id="t9",
            )
            assert moved["ok"] and moved["when"] == "tomorrow at 1 PM", moved
            again = await call_tool(
                client, "check_availability", {"date": "tomorrow", "provider": "Lee", "limit": 50}, tool_call_id="t10"
            )
            times = [s["when"] for s in again["slots"]]
            assert "tomorrow at 9 AM" in times and "tomorrow at 1 PM" not in times  # old freed, new taken

            cancelled = await call_tool(
                client, "cancel_appointment", {"appointment_id": appointment_id, "reason": "travel"}, tool_call_id="t11"
            )
            assert cancelled["ok"] and cancelled["status"] == "CANCELED"
            after = await call_tool(
                client, "check_availability", {"date": "tomorrow afternoon", "provider": "Lee"}, tool_call_id="t12"
            )
            assert after["slots"][0]["when"] == "tomorrow at 1 PM"  # offered again
            assert (await call_tool(client, "find_appointments", {}, tool_call_id="t13"))["appointments"] == []
        finally:
            await sender.close()
    await asyncio.sleep(0)
