"""System prompts carry the clinic's own local date, weekday and time (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from booking.availability.v1 import availability_pb2 as apb
from devkit.processes import ROOT
from gateway.clinics import ClinicInfo, Named
from gateway.prompts import booking_prompt, lead_prompt
from services.availability.clinic_file import load_clinic_file


def demo_clinic() -> ClinicInfo:
    config = load_clinic_file(ROOT / "clinics" / "demo.yaml", {"DEMO_TENANT_SECRET": "x" * 20})
    return ClinicInfo(
        tenant_id="demo",
        name=config.name,
        timezone=ZoneInfo(config.timezone),
        default_region=config.default_region,
        rules=apb.BookingRules(otp_required=True),
        services=tuple(Named(s.id, s.name, s.spoken_name) for s in config.services),
        providers=tuple(Named(p.id, p.name, p.spoken_name) for p in config.providers),
        config=config,
    )


def test_prompt_has_the_clinics_local_date_when_utc_is_already_tomorrow() -> None:
    utc_now = datetime(2026, 11, 24, 3, 30, tzinfo=UTC)  # 22:30 on Monday the 23rd in New York
    prompt = booking_prompt(demo_clinic(), utc_now)
    assert "Today is Monday, November 23rd, 2026; the time is 10:30 PM (America/New_York)." in prompt
    assert "Tuesday, November 24th" not in prompt
    assert "Acme Dental" in prompt and "Dental cleaning (30 min)" in prompt
    assert "Doctor Lee: Monday 09:00-12:00, 13:00-17:00" in prompt
    assert "Doctor Okafor (Europe/London time)" in prompt
    assert "send_otp" in prompt and "Never book a date in the past" in prompt


def test_variants() -> None:
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    clinic = demo_clinic()
    assert "send_otp" not in booking_prompt(clinic, now, verification=False)
    lead = lead_prompt(clinic, now)
    assert "does not book by phone" in lead and "Today is Monday, November 23rd, 2026" in lead


def spanish_clinic() -> ClinicInfo:
    import dataclasses

    clinic = demo_clinic()
    config = apb.ClinicConfig()
    config.CopyFrom(clinic.config)
    config.locale = "es-US"
    return dataclasses.replace(clinic, config=config)


def test_a_clinic_whose_locale_is_spanish_gets_spanish_prompts_and_assistant() -> None:
    from gateway.assistant import assistant_reply

    utc_now = datetime(2026, 11, 24, 3, 30, tzinfo=UTC)  # 22:30 on Monday the 23rd in New York
    clinic = spanish_clinic()
    assert clinic.language == "es" and demo_clinic().language == "en"
    prompt = booking_prompt(clinic, utc_now)
    assert "Hoy es lunes 23 de noviembre de 2026; son las 22:30 (America/New_York)." in prompt
    assert "Doctor Lee: lunes 09:00-12:00, 13:00-17:00" in prompt and "(hora de Europe/London)" in prompt
    assert 'language "es"' in prompt and "send_otp" in prompt and "Nunca reserve una fecha pasada" in prompt
    assert "el próximo martes" in prompt and "Today is" not in prompt
    assert "que no reserva citas por teléfono" in lead_prompt(clinic, utc_now)
    reply = assistant_reply(clinic, "https://gw.example/vapi/demo", utc_now)["assistant"]
    assert reply["firstMessage"] == "Gracias por llamar a Acme Dental. ¿En qué le puedo ayudar?"
    fillers = [m["content"] for t in reply["model"]["tools"] for m in t["messages"]]
    assert "Déjeme revisar la agenda." in fillers and "Sigo en ello, gracias por esperar." in fillers
    assert reply["transcriber"]["language"] == "multi"


def test_an_english_clinic_tells_the_model_to_follow_a_spanish_caller() -> None:
    from gateway.assistant import assistant_reply
    from gateway.tool_definitions import TOOLS

    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    prompt = booking_prompt(demo_clinic(), now)
    assert 'answer in Spanish and pass language "es" to every tool' in prompt
    reply = assistant_reply(demo_clinic(), "https://gw.example/vapi/demo", now)["assistant"]
    assert reply["firstMessage"] == "Thank you for calling Acme Dental. How can I help you today?"
    assert "transcriber" not in reply
    for tool in TOOLS:  # every tool takes the language, and the date help names Spanish forms too
        assert tool["parameters"]["properties"]["language"]["enum"] == ["en", "es"]
    date_help = TOOLS[0]["parameters"]["properties"]["date"]["description"]
    for form in ("tomorrow", "next Tuesday", "Fri, Jan 9th", "the week after next", "mañana", "el próximo martes"):
        assert f"'{form}'" in date_help
    assert "'el 15 de diciembre'" in date_help
