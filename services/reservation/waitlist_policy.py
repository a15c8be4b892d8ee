"""The waitlist's rules, as functions of plain values. Pure: no clock, no I/O.

Meanings chosen:
- a freed time suits a waiter when it is WAITING, the provider is theirs (or they named none), the
  time's clinic-local day is within their days and its local start within their part of the day
  (morning before 12:00, afternoon 12:00 to 17:00, evening from 17:00, as FindSlots);
- whether their appointment type fits the freed time is availability's answer (ValidateSlot), not
  decided here;
- a waiter is never offered the same time (provider and start) twice, whatever they answered, and
  never holds two offers at once; earlier waiters are offered first;
- an offer holds the time for `OFFER_MINUTES`; YES books it, NO passes it on at once, silence lets
  the hold run out (then it passes on);
- a reply answers the latest offer texted to that phone; to one that ended (ran out, declined) less
  than `REPLY_HORIZON` ago it is told the offer ended; an older or accepted one is not the
  waitlist's business any more (a reminder's reply, or nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from services.reservation.policy import Refusal

OFFER_MINUTES = 15
MAX_ENTRIES_PER_PHONE = 3
REPLY_HORIZON = timedelta(hours=12)
PARTS = ("morning", "afternoon", "evening")
ALREADY_WAITING = Refusal("ALREADY_ON_WAITLIST")
NO_PHONE = Refusal("VERIFICATION_REQUIRED", "no_phone")


@dataclass(frozen=True)
class Wish:
    """What a waiter waits for."""

    service_id: str
    provider_id: str
    from_date: date
    to_date: date
    part_of_day: str  # "" = any, else one of PARTS


@dataclass(frozen=True)
class Waiter(Wish):
    """A stored waitlist entry."""

    tenant_id: str
    waitlist_id: str
    phone: str
    patient_name: str
    timezone: str
    language: str
    status: str  # WAITING, BOOKED, LEFT
    call_id: str
    joined_at: datetime


@dataclass(frozen=True)
class Offer:
    """A freed time offered to a waiter, backed by the hold `hold_id`."""

    tenant_id: str
    hold_id: str
    waitlist_id: str
    phone: str
    provider_id: str
    starts_at: datetime
    expires_at: datetime
    status: str  # OFFERED, ACCEPTED, DECLINED, EXPIRED
    created_at: datetime
    answered_at: datetime | None
    answered_sid: str

    def live(self, now: datetime) -> bool:
        return self.status == "OFFERED" and self.expires_at > now


def part_of(local: datetime) -> str:
    if local.hour < 12:
        return "morning"
    return "afternoon" if local.hour < 17 else "evening"


def wants(waiter: Waiter, provider_id: str, starts_at: datetime) -> bool:
    """Whether this freed time (provider, start) is one the waiter waits for."""
    if waiter.status != "WAITING" or waiter.provider_id not in ("", provider_id):
        return False
    local = starts_at.astimezone(ZoneInfo(waiter.timezone))
    if not waiter.from_date <= local.date() <= waiter.to_date:
        return False
    return waiter.part_of_day in ("", part_of(local))


def overlaps(a: Wish, b: Wish) -> bool:
    return a.from_date <= b.to_date and b.from_date <= a.to_date


def join_refusal(waiting: Sequence[Wish], wish: Wish) -> Refusal | None:
    """Whether a phone already waiting for `waiting` may also wait for `wish`."""
    same = [w for w in waiting if (w.service_id, w.provider_id) == (wish.service_id, wish.provider_id)]
    if any(overlaps(w, wish) for w in same):
        return ALREADY_WAITING
    if len(waiting) >= MAX_ENTRIES_PER_PHONE:
        return Refusal("WAITLIST_LIMIT", limit=MAX_ENTRIES_PER_PHONE)
    return None


def offer_expiry(now: datetime) -> datetime:
    return now + timedelta(minutes=OFFER_MINUTES)


def offer_call_id(waitlist_id: str) -> str:
    """The call id of a waiter's offer holds: one live hold per call, so one live offer per waiter."""
    return f"waitlist:{waitlist_id}"


class ReplyAction(Enum):
    ACCEPT = "accept"
    DECLINE = "decline"
    ENDED = "ended"  # the offer ran out or was answered: tell them it ended
    REPEAT = "repeat"  # the same inbound text again: the same answer, nothing new


def reply_action(yes: bool, offer: Offer | None, message_sid: str, now: datetime) -> ReplyAction | None:
    """What a YES (or NO) does to the latest offer texted to the phone; None: not about an offer."""
    if offer is None:
        return None
    if message_sid and offer.answered_sid == message_sid:
        return ReplyAction.REPEAT
    if offer.live(now):
        return ReplyAction.ACCEPT if yes else ReplyAction.DECLINE
    if offer.status == "ACCEPTED":
        return None
    ended = offer.answered_at or offer.expires_at
    return ReplyAction.ENDED if now - ended <= REPLY_HORIZON else None
