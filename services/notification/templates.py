"""SMS texts per message kind, in the clinic's local time, and their segment count. Pure."""

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


def your(service: str) -> str:
    """ "a dental cleaning" -> "your dental cleaning"."""
    words = service.strip().split(" ", 1)
    if len(words) == 2 and words[0].lower() in ("a", "an", "the", "your"):
        return f"your {words[1]}"
    return f"your {service.strip() or 'appointment'}"


def render(
    kind: str, clinic: str, *, service: str = "", provider: str = "", start: datetime | None = None,
    timezone: str = "UTC", code: str = "", minutes: int = 0,
) -> str:  # fmt: skip
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
