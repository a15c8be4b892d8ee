"""System prompts per clinic, with today's date and time in the clinic's timezone. Pure.

In the clinic's language (its locale: English, or Spanish for es-*); either way the model is told
to answer a caller in the caller's language and to pass it to every tool as `language`, so the
tools' speech and the texts the caller receives follow the call. The Spanish prompts are in
gateway/prompts_es.py.
"""

from __future__ import annotations

from datetime import datetime

from booking.availability.v1 import availability_pb2 as apb
from gateway import prompts_es
from gateway.clinics import ClinicInfo
from gateway.speech import en, grammar, ordinal, time_phrase

DAYS = {n: name for n, name in enumerate(en.WEEKDAYS, 1)}


def hours_summary(clinic: ClinicInfo, language: str = "en") -> str:
    spanish = language == "es"
    names = grammar(language).weekdays
    lines = []
    for provider in clinic.config.providers:
        days = []
        for hours in sorted(provider.weekly_hours, key=lambda h: h.weekday):
            spans = ", ".join(f"{i.start}-{i.end}" for i in hours.intervals)
            day = names[int(hours.weekday) - 1] if 1 <= hours.weekday <= 7 else "?"
            days.append(f"{day} {spans}")
        zone = f" ({'hora de ' if spanish else ''}{provider.timezone}{'' if spanish else ' time'})"
        zone = zone if provider.timezone else ""
        arranged = "con cita previa" if spanish else "by arrangement"
        lines.append(f"- {provider.spoken_name or provider.name}{zone}: {'; '.join(days) or arranged}")
    return "\n".join(lines)


def services_summary(config: apb.ClinicConfig) -> str:
    return "\n".join(f"- {s.name} ({s.duration_minutes} min)" for s in config.services)


def today_line(clinic: ClinicInfo, now: datetime) -> str:
    local = now.astimezone(clinic.timezone)
    when = f"{local:%A}, {local:%B} {ordinal(local.day)}, {local.year}"
    return f"Today is {when}; the time is {time_phrase(local)} ({clinic.timezone.key})."


def booking_prompt(clinic: ClinicInfo, now: datetime, *, verification: bool | None = None) -> str:
    needs_code = clinic.rules.otp_required if verification is None else verification
    if clinic.language == "es":
        return prompts_es.booking_prompt(clinic, now, hours_summary(clinic, "es"), needs_code=needs_code)
    steps = [
        "Ask what the caller needs and which day suits them.",
        "Call check_availability, then offer at most three times.",
        "When they choose, call reserve_slot with that slot_id and their full name (spell it back).",
    ]
    if needs_code:
        steps.append("Call send_otp, ask them to read the code from the text, then call verify_otp.")
    steps += [
        "Call confirm_booking, then read back the day of the week, the date and the time.",
        "To change or cancel an appointment, call find_appointments first and confirm which one.",
        "If no offered time suits them, offer the waitlist: call join_waitlist with the days (and part of day) "
        "they could come; they will get a text when a time frees up.",
    ]
    numbered = "\n".join(f"{n}. {step}" for n, step in enumerate(steps, 1))
    return f"""You are the phone receptionist of {clinic.name}.
{today_line(clinic, now)}

Services:
{services_summary(clinic.config)}

Hours:
{hours_summary(clinic)}

How to book:
{numbered}

Rules:
- Speak the caller's language. If they speak Spanish, answer in Spanish and pass language "es" to every tool
  (its speech and the texts they receive are then in Spanish); otherwise pass language "en".
- Pass the caller's date words through verbatim ("tomorrow", "next Tuesday", "el próximo martes").
- Never book a date in the past. Always confirm the weekday and the date back to the caller.
- Say times the way the tools' speech does; never read out ids, codes or ISO dates.
- Spell names back letter by letter when unsure. Read phone numbers in groups of digits.
- If a tool says it can't reach the schedule, apologise and offer to try again."""


def lead_prompt(clinic: ClinicInfo, now: datetime) -> str:
    if clinic.language == "es":
        return prompts_es.lead_prompt(clinic, now)
    return f"""You answer the phone for {clinic.name}, which does not book by phone.
{today_line(clinic, now)}
Services:
{services_summary(clinic.config)}
Collect the caller's name, phone number, the service they want and when they are free, then tell them the clinic
will call back. Never promise a time. Spell names back and read phone numbers in groups of digits."""
