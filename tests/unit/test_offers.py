"""Offers a person can follow: at most three times read out, spread, nearest, wide open (pure)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.speech import offer_sentence
from gateway.speech.offers import MAX_OFFERED, SpokenSlot, choose

NY = ZoneInfo("America/New_York")
TODAY = date(2026, 8, 31)  # Monday


def at(hour: int, minute: int = 0, day: int = 1, provider: str = "Doctor Lee") -> SpokenSlot:
    return SpokenSlot(datetime(2026, 9, day, hour, minute, tzinfo=NY), provider)


def hhmm(slots: tuple[SpokenSlot, ...]) -> list[str]:
    return [f"{s.local:%d %H:%M} {s.provider.split()[-1]}" for s in slots]


def quarter_hours(first: int, last: int, day: int = 1) -> list[SpokenSlot]:
    return [at(h, m, day) for h in range(first, last) for m in (0, 15, 30, 45)]


@pytest.mark.parametrize(
    ("slots", "expected"),
    [
        ([], []),
        ([at(9)], ["01 09:00 Lee"]),
        ([at(9), at(9, 30)], ["01 09:00 Lee", "01 09:30 Lee"]),
        # spread: earliest morning, nearest midday, nearest mid-afternoon
        ([at(9), at(9, 30), at(10), at(12), at(13), at(15), at(16)], ["01 09:00 Lee", "01 12:00 Lee", "01 15:00 Lee"]),
        ([at(8), at(11), at(14, 30), at(17)], ["01 08:00 Lee", "01 11:00 Lee", "01 14:30 Lee"]),
        ([at(13), at(13, 30), at(16), at(17)], ["01 13:00 Lee", "01 13:30 Lee", "01 16:00 Lee"]),
        # fewer than three on the first day: the next day fills in
        ([at(16), at(9, day=2), at(10, day=2)], ["01 16:00 Lee", "02 09:00 Lee", "02 10:00 Lee"]),
        # a choice of provider: a tie goes to a provider not named yet
        (
            [at(9), at(9, provider="Doctor Patel"), at(12), at(12, provider="Doctor Patel"), at(15)],
            ["01 09:00 Lee", "01 12:00 Patel", "01 15:00 Lee"],
        ),
        ([at(9), at(9, provider="Doctor Patel")], ["01 09:00 Lee", "01 09:00 Patel"]),
    ],
)
def test_spread_across_the_day(slots: list[SpokenSlot], expected: list[str]) -> None:
    choice = choose(slots)
    assert hhmm(choice.offers) == expected and not choice.ask_part_of_day


@pytest.mark.parametrize(
    ("near", "expected"),
    [
        (at(15), ["01 14:00 Lee", "01 15:00 Lee", "01 16:00 Lee"]),
        (at(9), ["01 09:00 Lee", "01 10:00 Lee", "01 11:00 Lee"]),
        (at(17), ["01 15:00 Lee", "01 16:00 Lee", "01 17:00 Lee"]),
        (at(12, 20), ["01 11:00 Lee", "01 12:00 Lee", "01 13:00 Lee"]),
    ],
)
def test_a_time_asked_for_gets_the_three_nearest(near: SpokenSlot, expected: list[str]) -> None:
    slots = [at(h) for h in range(9, 18)]
    assert hhmm(choose(slots, near=near.local).offers) == expected


def test_a_part_of_day_asked_for_gets_its_earliest_times() -> None:
    slots = quarter_hours(13, 17)
    assert hhmm(choose(slots, part_asked=True).offers) == ["01 13:00 Lee", "01 13:15 Lee", "01 13:30 Lee"]


def test_a_wide_open_day_asks_morning_or_afternoon_with_the_earliest_time() -> None:
    choice = choose(quarter_hours(9, 12))
    assert choice.ask_part_of_day and hhmm(choice.offers) == ["01 09:00 Lee"]
    assert offer_sentence(quarter_hours(9, 12), TODAY) == (
        "I have tomorrow at 9 AM with Doctor Lee and many more times that day."
        " Would morning or afternoon suit you better?"
    )


@pytest.mark.parametrize("count", range(0, 40))
def test_never_more_than_three_times_read_out(count: int) -> None:
    slots = quarter_hours(8, 18)[:count] + quarter_hours(8, 10, day=2)
    for kwargs in ({}, {"part_asked": True}, {"near": at(14).local}):
        offered = choose(slots, **kwargs).offers
        assert len(offered) <= MAX_OFFERED and len(set(offered)) == len(offered)
        assert list(offered) == sorted(offered, key=lambda s: (s.local, s.provider))


def test_offer_sentences() -> None:
    spread = offer_sentence([at(9), at(12), at(15, 30)], TODAY)
    assert spread == "I have tomorrow at 9 AM, 12 PM or 3:30 PM with Doctor Lee."
    two_providers = [at(9), at(9, provider="Doctor Patel"), at(12, provider="Doctor Patel")]
    assert offer_sentence(two_providers, TODAY) == (
        "I have tomorrow at 9 AM with Doctor Lee; or 9 AM or 12 PM with Doctor Patel."
    )
