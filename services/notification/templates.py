"""SMS texts per message kind and language, in the clinic's local time, and their segment count. Pure.

English is the default; Spanish ("es") is chosen by EnqueueSmsRequest.language. Spanish texts use
the formal "usted" and are worded to avoid gender agreement with the service's name (which is the
clinic's data, in whatever language the clinic wrote it). Accents are kept: é ñ ¿ ¡ are GSM-7, but
á í ó ú are not, so a text with one is UCS-2 and counted by 67/70 units (see `segments`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

# GSM 03.38 basic set; the extension set costs two septets a character.
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = set("^{}\\[~]|€\f")
STOP_HINT = "Reply STOP to opt out."
STOP_HINT_ES = "Responda STOP para darse de baja."
ARTICLES = ("a", "an", "the", "your", "un", "una", "el", "la", "los", "las", "su")
WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
# Abbreviated: a text with "sábado" is UCS-2, where every character counts double.
MONTHS_ES = ("ene.", "feb.", "mar.", "abr.", "may.", "jun.", "jul.", "ago.", "sep.", "oct.", "nov.", "dic.")


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int


def segments(text: str) -> Segments:
    if all(c in GSM_BASIC or c in GSM_EXTENSION for c in text):
        units = sum(2 if c in GSM_EXTENSION else 1 for c in text)
        return Segments("GSM-7", units, 1 if units <= 160 else -(-units // 153))
    units = len(text.encode("utf-16-le")) // 2
    return Segments("UCS-2", units, 1 if units <= 70 else -(-units // 67))


def when(start: datetime, timezone: str) -> str:
    """ "Tue Sep 1 at 10:00 AM" in the clinic's zone."""
    local = start.astimezone(ZoneInfo(timezone))
    hour = local.hour % 12 or 12
    return f"{local:%a %b} {local.day} at {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"


def when_es(start: datetime, timezone: str) -> str:
    """ "martes 1 de sep. a las 10:00 a.m." in the clinic's zone ("a la 1:30 p.m."); it ends a
    sentence (its last period is the sentence's)."""
    local = start.astimezone(ZoneInfo(timezone))
    hour = local.hour % 12 or 12
    day = f"{WEEKDAYS_ES[local.weekday()]} {local.day} de {MONTHS_ES[local.month - 1]}"
    return f"{day} a la{'' if hour == 1 else 's'} {hour}:{local:%M} {'a.m.' if local.hour < 12 else 'p.m.'}"


def bare(service: str) -> str:
    """The service's name without its article: "a dental cleaning" -> "dental cleaning"."""
    words = service.strip().split(" ", 1)
    return words[1] if len(words) == 2 and words[0].lower() in ARTICLES else service.strip()


def your(service: str) -> str:
    """ "a dental cleaning" -> "your dental cleaning"."""
    return f"your {bare(service) or 'appointment'}"


def render(
    kind: str, clinic: str, *, service: str = "", provider: str = "", start: datetime | None = None,
    timezone: str = "UTC", code: str = "", minutes: int = 0, language: str = "",
) -> str:  # fmt: skip
    """The text of `kind` in `language` ("es" Spanish; anything else English)."""
    if language == "es":
        return render_es(
            kind, clinic, service=service, provider=provider, start=start, timezone=timezone, code=code,
            minutes=minutes,
        )  # fmt: skip
    prefix = f"{clinic}: " if clinic else ""
    with_provider = f" with {provider}" if provider else ""
    at = when(start, timezone) if start is not None else ""
    if kind == "OTP":
        return f"{prefix}your verification code is {code}. It expires in 10 minutes. Don't share it."
    if kind == "CONFIRMATION":
        return f"{prefix}{your(service)}{with_provider} is confirmed for {at}. {STOP_HINT}"
    if kind == "CANCELLATION":
        return f"{prefix}{your(service)} on {at} is cancelled. {STOP_HINT}"
    if kind == "RESCHEDULE":
        return f"{prefix}{your(service)}{with_provider} is moved to {at}. {STOP_HINT}"
    if kind == "REMINDER":
        return f"{prefix}reminder: {your(service)}{with_provider} is on {at}. {STOP_HINT}"
    if kind == "WAITLIST_OFFER":
        within = f" within {minutes} minutes" if minutes > 0 else ""
        return f"{prefix}a time opened up. Reply YES{within} to book {at}{with_provider}, or NO to pass. {STOP_HINT}"
    if kind == "WAITLIST_OFFER_EXPIRED":
        return f"{prefix}sorry, the offer of {at} has ended and that time is no longer held for you."
    raise ValueError(f"no template for {kind}")


def render_es(
    kind: str, clinic: str, *, service: str, provider: str, start: datetime | None, timezone: str, code: str,
    minutes: int,
) -> str:  # fmt: skip
    """Spanish: "Acme Dental: confirmamos su cita de limpieza con Dr. Lee el martes 1 de sep. a las
    10:00 a.m. Responda STOP para darse de baja." """
    prefix = f"{clinic}: " if clinic else ""
    of_service = f" de {bare(service)}" if bare(service) else ""
    with_provider = f" con {provider}" if provider else ""
    at = when_es(start, timezone) if start is not None else ""
    if kind == "OTP":
        # Short: "código" is not GSM-7, so this text counts 70 units a segment.
        return f"{prefix}su código es {code}. Vence en 10 minutos. No lo comparta."
    if kind == "CONFIRMATION":
        return f"{prefix}confirmamos su cita{of_service}{with_provider} el {at} {STOP_HINT_ES}"
    if kind == "CANCELLATION":
        return f"{prefix}cancelamos su cita{of_service} del {at} {STOP_HINT_ES}"
    if kind == "RESCHEDULE":
        return f"{prefix}cambiamos su cita{of_service}{with_provider} al {at} {STOP_HINT_ES}"
    if kind == "REMINDER":
        return f"{prefix}le recordamos su cita{of_service}{with_provider} el {at} {STOP_HINT_ES}"
    if kind == "WAITLIST_OFFER":  # the reply words stay YES / NO: they are what replies are read by
        within = f" en {minutes} minutos" if minutes > 0 else ""
        offer = f"se liberó una hora. Responda YES{within} para reservar el {at}{with_provider}, o NO."
        return f"{prefix}{offer} {STOP_HINT_ES}"
    if kind == "WAITLIST_OFFER_EXPIRED":
        return f"{prefix}lo sentimos, la oferta del {at} terminó y esa hora ya no está apartada para usted."
    raise ValueError(f"no template for {kind}")
