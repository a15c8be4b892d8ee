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
# The words replies are read by (services/reservation/replies.py): Y/YES/SI confirm, C/CANCEL cancel.
REPLY_HINT = "Reply Y to confirm or C to cancel."
REPLY_HINT_ES = "SI confirma, C anula."  # short: a reminder stays one segment
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


# The texts about an appointment, by kind: {prefix} is "Clinic: ", {your} "your <service>", {with_provider}
# " with <provider>" or "", {at} the local time, {within} " within N minutes" or "".
TEXTS = {
    "CONFIRMATION": "{prefix}{your}{with_provider} is confirmed for {at}. {stop}",
    "CANCELLATION": "{prefix}{your} on {at} is cancelled. {stop}",
    "RESCHEDULE": "{prefix}{your}{with_provider} is moved to {at}. {stop}",
    "REMINDER": "{prefix}reminder: {your}{with_provider} is on {at}. {reply} {stop}",
    "ATTENDANCE_CONFIRMED": "{prefix}thank you for confirming {your} on {at}. See you then!",
    "CANCEL_REFUSED": "{prefix}{your} on {at} is too soon to cancel by text. Please call us to change it.",
    "REPLY_HELP": "{prefix}about {your} on {at}: {reply} {stop}",
    "WAITLIST_OFFER": "{prefix}a time opened up. Reply YES{within} to book {at}{with_provider}, or NO to pass. {stop}",
    "WAITLIST_OFFER_EXPIRED": "{prefix}sorry, the offer of {at} has ended and that time is no longer held for you.",
}
# Spanish: {of_service} is " de <service>" or "", {with_provider} " con <provider>"; {at} ends a sentence.
# The waitlist's reply words stay YES / NO: they are what replies are read by.
TEXTS_ES = {
    "CONFIRMATION": "{prefix}confirmamos su cita{of_service}{with_provider} el {at} {stop}",
    "CANCELLATION": "{prefix}cancelamos su cita{of_service} del {at} {stop}",
    "RESCHEDULE": "{prefix}cambiamos su cita{of_service}{with_provider} al {at} {stop}",
    "REMINDER": "{prefix}le recordamos su cita{of_service}{with_provider} el {at} {reply} {stop}",
    "ATTENDANCE_CONFIRMED": "{prefix}gracias por confirmar su cita{of_service} del {at} ¡Hasta pronto!",
    "CANCEL_REFUSED": (
        "{prefix}su cita{of_service} del {at} ya no se puede anular por mensaje. Para cambiarla llame al consultorio."
    ),
    "REPLY_HELP": "{prefix}sobre su cita{of_service} del {at} {reply} {stop}",
    "WAITLIST_OFFER": (
        "{prefix}se liberó una hora. Responda YES{within} para reservar el {at}{with_provider}, o NO. {stop}"
    ),
    "WAITLIST_OFFER_EXPIRED": (
        "{prefix}lo sentimos, la oferta del {at} terminó y esa hora ya no está apartada para usted."
    ),
}


# One-time code texts, longest first: the first that fits one segment with the clinic's name is sent
# (a long name, or one outside GSM-7 such as "Clínica ...", which makes the text UCS-2 at 70 units,
# drops the expiry, which the assistant says anyway). "código" is not GSM-7: Spanish is always UCS-2.
OTP_TEXTS = (
    "{prefix}your verification code is {code}. It expires in 10 minutes. Don't share it.",
    "{prefix}your code is {code}. Don't share it.",
)
OTP_TEXTS_ES = (
    "{prefix}su código es {code}. Vence en 10 minutos. No lo comparta.",
    "{prefix}su código es {code}. No lo comparta.",
)


def otp_text(prefix: str, code: str, spanish: bool) -> str:
    texts = [t.format(prefix=prefix, code=code) for t in (OTP_TEXTS_ES if spanish else OTP_TEXTS)]
    return next((t for t in texts if segments(t).count == 1), texts[-1])


def render(
    kind: str, clinic: str, *, service: str = "", provider: str = "", start: datetime | None = None,
    timezone: str = "UTC", code: str = "", minutes: int = 0, language: str = "",
) -> str:  # fmt: skip
    """The text of `kind` in `language` ("es" Spanish; anything else English)."""
    prefix = f"{clinic}: " if clinic else ""
    spanish = language == "es"
    if kind == "OTP":
        return otp_text(prefix, code, spanish)
    text = (TEXTS_ES if spanish else TEXTS).get(kind)
    if text is None:
        raise ValueError(f"no template for {kind}")
    if spanish:
        return text.format(
            prefix=prefix, of_service=f" de {bare(service)}" if bare(service) else "",
            with_provider=f" con {provider}" if provider else "",
            at=when_es(start, timezone) if start is not None else "",
            within=f" en {minutes} minutos" if minutes > 0 else "", stop=STOP_HINT_ES, reply=REPLY_HINT_ES,
        )  # fmt: skip
    return text.format(
        prefix=prefix, your=your(service), with_provider=f" with {provider}" if provider else "",
        at=when(start, timezone) if start is not None else "",
        within=f" within {minutes} minutes" if minutes > 0 else "", stop=STOP_HINT, reply=REPLY_HINT,
    )  # fmt: skip
