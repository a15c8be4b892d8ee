"""Spanish end to end, over HTTP through the real gateway, services, database and the real twilio
library against a local Twilio imitation: the caller's language (a tool argument, or the clinic's
locale) flows from the call to the speech, to the stored appointment and to every text it causes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import asyncpg
import grpc
import pytest

from booking.availability.v1 import availability_pb2 as apb
from booking.notification.v1.notification_pb2 import EnqueueSmsRequest
from booking.reservation.v1 import reservation_pb2 as rpb
from devkit.processes import ROOT
from devkit.twilio_fake import fake_twilio
from services.availability.clinic_file import load_clinic_file
from services.notification.relay import MessageRelay
from services.notification.senders import TwilioSender
from tests.conftest import Clock, Stack
from tests.functional.test_gateway_conversation import deliver_texts
from tests.functional.vapi_client import CALLER, SECRET, call_tool, gateway_client, load_demo

TOMORROW = "2026-11-24"  # load_demo's today is Monday 23 November 2026 in New York


async def text_matching(stack: Stack, relay: MessageRelay, bodies: Callable[[], list[str]], pattern: str) -> str:
    """The first text to the caller matching `pattern`, once the outboxes have delivered it."""
    async with asyncio.timeout(10):
        while True:
            found = [b for b in bodies() if re.search(pattern, b)]
            if found:
                return found[-1]
            await deliver_texts(stack, relay)
            await asyncio.sleep(0.05)


async def test_a_whole_booking_in_spanish_speech_and_texts(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    await load_demo(stack, clock)
    async with fake_twilio() as twilio, gateway_client(stack, clock) as client:
        sender = TwilioSender("AC" + "2" * 32, "token", from_number="+12125550100", base_url=twilio.url)
        relay = MessageRelay(pool, sender)
        try:
            found = await call_tool(
                client, "check_availability", {"date": "mañana", "language": "es"}, tool_call_id="t1"
            )
            assert found["ok"] and found["speech"].startswith("Tengo mañana a las nueve de la mañana con Doctor")
            first = found["slots"][0]
            assert first["when"] == "mañana a las nueve de la mañana"

            held = await call_tool(
                client, "reserve_slot",
                {"slot_id": first["slot_id"], "patient_name": "Ada Lovelace", "language": "español"},
                tool_call_id="t2",
            )  # fmt: skip
            assert held["speech"] == (
                f"Le guardo mañana a las nueve de la mañana con {first['provider']} durante los próximos 10 minutos."
            )

            sent = await call_tool(client, "send_otp", {"language": "es-US"}, tool_call_id="t3")
            assert sent["speech"] == (
                "Le envié un código de 6 dígitos a su número que termina en 4 2. Por favor, léamelo cuando le llegue."
            )
            code_text = await text_matching(stack, relay, lambda: twilio.bodies_to(CALLER), r"código es \d{6}")
            assert re.fullmatch(r"Acme Dental: su código es \d{6}\. Vence en 10 minutos\. No lo comparta\.", code_text)
            code = re.search(r"\d{6}", code_text)
            assert code is not None
            verified = await call_tool(
                client, "verify_otp", {"code": code.group(0), "language": "es"}, tool_call_id="t4"
            )
            assert verified["speech"] == "Gracias, el código es correcto."

            booked = await call_tool(client, "confirm_booking", {"language": "es"}, tool_call_id="t5")
            assert booked["ok"] and booked["speech"] == (
                f"Listo, ya tiene su cita: a dental cleaning con {first['provider']} mañana a las nueve de la mañana."
                " Le envié un mensaje de confirmación."
            )
            confirmation = await text_matching(stack, relay, lambda: twilio.bodies_to(CALLER), "confirmamos su cita")
            assert confirmation == (
                f"Acme Dental: confirmamos su cita de dental cleaning con {first['provider']} el martes 24 de nov."
                " a las 9:00 a.m. Responda STOP para darse de baja."
            )
            stored = await stack.reservation_stub.GetAppointment(
                rpb.GetAppointmentRequest(tenant_id="demo", appointment_id=booked["appointment_id"])
            )
            assert stored.appointment.language == "es"

            cancelled = await call_tool(
                client, "cancel_appointment", {"appointment_id": booked["appointment_id"], "language": "es"},
                tool_call_id="t6",
            )  # fmt: skip
            assert cancelled["speech"].startswith("Listo, cancelé a dental cleaning con ")
            cancellation = await text_matching(stack, relay, lambda: twilio.bodies_to(CALLER), "cancelamos su cita")
            assert "del martes 24 de nov. a las 9:00 a.m." in cancellation
            assert not [b for b in twilio.bodies_to(CALLER) if "your" in b or "Reply STOP" in b]  # nothing in English
        finally:
            await sender.close()
    await asyncio.sleep(0)


async def load_spanish_demo(stack: Stack, clock: Clock) -> None:
    await load_demo(stack, clock)
    config = load_clinic_file(ROOT / "clinics" / "demo.yaml", {"DEMO_TENANT_SECRET": SECRET})
    config.locale = "es-US"
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=config))


async def test_a_clinic_whose_locale_is_es_us_speaks_spanish_without_a_language(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_spanish_demo(stack, clock)
    async with fake_twilio() as twilio, gateway_client(stack, clock) as client:
        sender = TwilioSender("AC" + "2" * 32, "token", from_number="+12125550100", base_url=twilio.url)
        relay = MessageRelay(pool, sender)
        try:
            found = await call_tool(client, "check_availability", {"date": "mañana"}, tool_call_id="t1")
            assert found["speech"].startswith("Tengo mañana a las nueve de la mañana")
            english = await call_tool(
                client, "check_availability", {"date": TOMORROW, "language": "en"}, tool_call_id="t2"
            )
            assert english["speech"].startswith("I have tomorrow at 9 AM")  # the caller's choice wins
            unknown = await call_tool(
                client, "check_availability", {"date": TOMORROW, "language": "fr"}, tool_call_id="t3"
            )
            assert unknown["speech"].startswith("Tengo mañana")  # unknown: the clinic's default

            await call_tool(client, "reserve_slot", {"slot_id": found["slots"][0]["slot_id"]}, tool_call_id="t4")
            sent = await call_tool(client, "send_otp", {}, tool_call_id="t5")
            assert sent["speech"].startswith("Le envié un código de 6 dígitos")
            await text_matching(stack, relay, lambda: twilio.bodies_to(CALLER), r"^Acme Dental: su código es \d{6}")

            reply = await client.post(
                "/vapi/demo", json={"message": {"type": "assistant-request"}},
                headers={"Authorization": f"Bearer {SECRET}"},
            )  # fmt: skip
            assistant = (await reply.json())["assistant"]
            assert assistant["firstMessage"] == "Gracias por llamar a Acme Dental. ¿En qué le puedo ayudar?"
            assert (
                "Usted es la recepcionista telefónica de Acme Dental." in assistant["model"]["messages"][0]["content"]
            )
        finally:
            await sender.close()
    await asyncio.sleep(0)


async def queued_languages(pool: asyncpg.Pool) -> dict[str, str]:
    """The language of every text reservation queued, by dedupe key (kind:appointment id)."""
    rows = await pool.fetch("SELECT dedupe_key, payload FROM reservation.outbox")
    return {r["dedupe_key"]: EnqueueSmsRequest.FromString(r["payload"]).language for r in rows}


async def test_reservation_keeps_the_language_and_refuses_one_that_is_not(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_demo(stack, clock)
    slots = await stack.availability_stub.FindSlots(  # a service that needs no code
        apb.FindSlotsRequest(tenant_id="demo", date=TOMORROW, service_id="consult", limit=2)
    )
    patient = rpb.Patient(name="Ada", phone=CALLER)
    held = await stack.reservation_stub.CreateHold(
        rpb.CreateHoldRequest(
            tenant_id="demo", slot_id=slots.slots[0].slot_id, call_id="c1", language="es-MX", patient=patient
        )
    )
    confirmed = await stack.reservation_stub.ConfirmHold(rpb.ConfirmHoldRequest(tenant_id="demo", call_id="c1"))
    spanish = confirmed.appointment.appointment_id
    assert held.hold.hold_id == spanish and confirmed.appointment.language == "es"  # normalised, kept from the hold
    staff = await stack.reservation_stub.StaffBook(
        rpb.StaffBookRequest(
            tenant_id="demo", slot_id=slots.slots[1].slot_id, patient=patient, action=rpb.StaffAction(actor="desk:a")
        )
    )
    booked_by_staff = staff.appointment.appointment_id
    assert booked_by_staff and staff.appointment.language == ""  # no caller: the default (English)
    # The clinic's systems cancel both: each text is in its appointment's language.
    for appointment_id in (spanish, booked_by_staff):
        await stack.reservation_stub.CancelAppointment(
            rpb.CancelAppointmentRequest(tenant_id="demo", appointment_id=appointment_id)
        )
    assert await queued_languages(pool) == {
        f"confirmation:{spanish}": "es", f"cancellation:{spanish}": "es",
        f"confirmation:{booked_by_staff}": "", f"cancellation:{booked_by_staff}": "",
    }  # fmt: skip
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stack.reservation_stub.CreateHold(
            rpb.CreateHoldRequest(tenant_id="demo", slot_id=slots.slots[1].slot_id, call_id="c2", language="e$")
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (refused.value.details() or "").startswith("language:")
