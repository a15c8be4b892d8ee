"""The waitlist's rules (services/reservation/waitlist_policy.py), pure: which freed time suits
whom, who may join again, and what a YES or NO does to the latest offer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.reservation.waitlist_policy import (
    MAX_ENTRIES_PER_PHONE,
    REPLY_HORIZON,
    Offer,
    ReplyAction,
    Waiter,
    Wish,
    join_refusal,
    offer_call_id,
    offer_expiry,
    reply_action,
    wants,
)

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WAITER = Waiter(
    service_id="cleaning", provider_id="", from_date=date(2026, 11, 24), to_date=date(2026, 11, 27),
    part_of_day="", tenant_id="demo", waitlist_id="w1", phone="+12125550142", patient_name="Ada",
    timezone="America/New_York", language="", status="WAITING", call_id="c1", joined_at=NOW,
)  # fmt: skip


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=NY).astimezone(UTC)


@pytest.mark.parametrize(
    ("changes", "provider", "start", "expected"),
    [
        ({}, "lee", local(24, 9), True),
        ({}, "lee", local(27, 23, 45), True),  # the last day, late evening local (already the 28th in UTC)
        ({}, "lee", local(23, 16), False),  # the day before the range
        ({}, "lee", local(28, 0, 15), False),  # just after the last day, local
        ({"provider_id": "lee"}, "patel", local(24, 9), False),
        ({"provider_id": "lee"}, "lee", local(24, 9), True),
        ({"part_of_day": "morning"}, "lee", local(24, 11, 45), True),
        ({"part_of_day": "morning"}, "lee", local(24, 12), False),
        ({"part_of_day": "afternoon"}, "lee", local(24, 12), True),
        ({"part_of_day": "afternoon"}, "lee", local(24, 17), False),
        ({"part_of_day": "evening"}, "lee", local(24, 17), True),
        ({"status": "BOOKED"}, "lee", local(24, 9), False),
        ({"status": "LEFT"}, "lee", local(24, 9), False),
    ],
)
def test_a_freed_time_suits_the_waiters_provider_days_and_part_of_day(
    changes: dict[str, str], provider: str, start: datetime, expected: bool
) -> None:
    assert wants(replace(WAITER, **changes), provider, start) is expected  # type: ignore[arg-type]


def test_days_are_the_clinics_local_days_across_the_dst_change() -> None:
    # 2026-11-01 is the day New York falls back: 00:30 and 23:30 local are both that day.
    waiter = replace(WAITER, from_date=date(2026, 11, 1), to_date=date(2026, 11, 1))
    assert wants(waiter, "lee", datetime(2026, 11, 1, 0, 30, tzinfo=NY).astimezone(UTC))
    assert wants(waiter, "lee", datetime(2026, 11, 1, 23, 30, tzinfo=NY).astimezone(UTC))
    assert not wants(waiter, "lee", datetime(2026, 11, 2, 0, 30, tzinfo=NY).astimezone(UTC))


def wish(first: int, last: int, service: str = "cleaning", provider: str = "") -> Wish:
    return Wish(service, provider, date(2026, 11, first), date(2026, 11, last), "")


def test_the_same_wish_over_overlapping_days_is_already_on_the_waitlist() -> None:
    assert join_refusal([wish(24, 27)], wish(27, 30)).cause == "ALREADY_ON_WAITLIST"  # type: ignore[union-attr]
    assert join_refusal([wish(24, 27)], wish(28, 30)) is None
    assert join_refusal([wish(24, 27)], wish(24, 27, service="exam")) is None
    assert join_refusal([wish(24, 27)], wish(24, 27, provider="lee")) is None


def test_a_phone_waits_for_at_most_three_things() -> None:
    waiting = [wish(1 + 3 * n, 2 + 3 * n) for n in range(MAX_ENTRIES_PER_PHONE)]
    refusal = join_refusal(waiting, wish(20, 21))
    assert refusal is not None and (refusal.cause, refusal.limit) == ("WAITLIST_LIMIT", MAX_ENTRIES_PER_PHONE)
    assert join_refusal(waiting[:-1], wish(20, 21)) is None


def test_an_offer_is_held_fifteen_minutes_under_the_waiters_own_call_id() -> None:
    assert offer_expiry(NOW) - NOW == timedelta(minutes=15)
    assert offer_call_id("w1") == "waitlist:w1" != offer_call_id("w2")


OFFER = Offer(
    tenant_id="demo", hold_id="h1", waitlist_id="w1", phone="+12125550142", provider_id="lee", starts_at=local(24, 9),
    expires_at=NOW + timedelta(minutes=15), status="OFFERED", created_at=NOW, answered_at=None, answered_sid="",
)  # fmt: skip


@pytest.mark.parametrize(
    ("offer", "yes", "sid", "at", "expected"),
    [
        (None, True, "SM1", NOW, None),
        (OFFER, True, "SM1", NOW, ReplyAction.ACCEPT),
        (OFFER, False, "SM1", NOW, ReplyAction.DECLINE),
        (OFFER, True, "SM1", OFFER.expires_at, ReplyAction.ENDED),  # the window is half-open
        (OFFER, True, "SM1", OFFER.expires_at + REPLY_HORIZON, ReplyAction.ENDED),
        (OFFER, True, "SM1", OFFER.expires_at + REPLY_HORIZON + timedelta(seconds=1), None),
        (replace(OFFER, status="DECLINED", answered_at=NOW, answered_sid="SM0"), True, "SM1", NOW, ReplyAction.ENDED),
        (replace(OFFER, status="DECLINED", answered_at=NOW, answered_sid="SM1"), False, "SM1", NOW, ReplyAction.REPEAT),
        (replace(OFFER, status="ACCEPTED", answered_at=NOW, answered_sid="SM1"), True, "SM1", NOW, ReplyAction.REPEAT),
        (replace(OFFER, status="ACCEPTED", answered_at=NOW, answered_sid="SM1"), True, "SM2", NOW, None),
    ],
)
def test_what_a_reply_does_to_the_latest_offer(
    offer: Offer | None, yes: bool, sid: str, at: datetime, expected: ReplyAction | None
) -> None:
    assert reply_action(yes, offer, sid, at) is expected
