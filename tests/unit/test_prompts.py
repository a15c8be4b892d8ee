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
