"""Property tests of the slot math: whatever the schedule, busy times and clock, no returned
slot overlaps busy time, starts before now + notice, lies outside working hours, or repeats."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.availability.slots import Busy, SlotQuery, free_slots, wall_to_utc, working_day
from tests.unit.clinics import make_clinic

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZONES = ("America/New_York", "Europe/London", "Australia/Sydney", "UTC")


@st.composite
def day_hours(draw: st.DrawFn) -> list[str]:
    cuts = sorted(draw(st.sets(st.integers(0, 96), min_size=0, max_size=6)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    return [
        f"{a * 15 // 60:02d}:{a * 15 % 60:02d}-{b * 15 // 60:02d}:{b * 15 % 60:02d}"
        for a, b in zip(cuts[::2], cuts[1::2], strict=True)
    ]


@st.composite
def scenario(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    zone = draw(st.sampled_from(ZONES))
    provider_zone = draw(st.sampled_from(ZONES))
    hours = {day: h for day in DAYS if (h := draw(day_hours()))}
    clinic = make_clinic(
        timezone=zone,
        rules={
            "slot_interval_minutes": draw(st.sampled_from([5, 10, 15, 20, 30, 60])),
            "min_notice_minutes": draw(st.integers(0, 600)),
            "max_days_ahead": draw(st.integers(1, 30)),
        },
        services=[{
            "id": "svc", "name": "Service",
            "duration_minutes": draw(st.integers(5, 120)),
            "buffer_before_minutes": draw(st.integers(0, 30)),
            "buffer_after_minutes": draw(st.integers(0, 30)),
        }],
        providers=[{"id": "a", "name": "A", "timezone": provider_zone, "hours": hours}],
    )  # fmt: skip
    # Around the 2030 DST changes in both hemispheres, to hit gaps and repeats.
    base = draw(st.sampled_from([datetime(2030, 3, 5, tzinfo=UTC), datetime(2030, 10, 20, tzinfo=UTC)]))
    now = base + timedelta(minutes=draw(st.integers(0, 14 * 24 * 60)))
    busy = [
        Busy(start, start + timedelta(minutes=length))
        for start, length in draw(
            st.lists(
                st.tuples(st.integers(0, 20 * 24 * 60).map(lambda m: base + timedelta(minutes=m)), st.integers(1, 240)),
                max_size=25,
            )
        )
    ]
    first = now.astimezone(clinic.timezone).date() + timedelta(days=draw(st.integers(-1, 5)))
    last = first + timedelta(days=draw(st.integers(0, 6)))
    return clinic, now, busy, first, last


def working_ranges(clinic, first: date, last: date) -> list[tuple[datetime, datetime]]:  # type: ignore[no-untyped-def]
    provider = clinic.providers["a"]
    ranges = []
    day = first - timedelta(days=2)
    while day <= last + timedelta(days=2):
        for interval in working_day(provider, day):
            ranges.append(
                (wall_to_utc(day, interval.start, provider.timezone), wall_to_utc(day, interval.end, provider.timezone))
            )
        day += timedelta(days=1)
    return ranges


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_no_slot_breaks_a_rule(case) -> None:  # type: ignore[no-untyped-def]
    clinic, now, busy, first, last = case
    service = clinic.services["svc"]
    slots = free_slots(clinic, service, SlotQuery(first, last), {"a": busy}, now)
    working = working_ranges(clinic, first, last)
    earliest = now + timedelta(minutes=service.rules.min_notice_minutes)
    horizon = now.astimezone(clinic.timezone).date() + timedelta(days=service.rules.max_days_ahead)
    seen = set()
    for slot in slots:
        occupied = (slot.start - service.buffer_before, slot.end + service.buffer_after)
        assert not any(b.start < occupied[1] and occupied[0] < b.end for b in busy), slot
        assert slot.start >= earliest
        local_day = slot.start.astimezone(clinic.timezone).date()
        assert first <= local_day <= min(last, horizon)
        assert any(ws <= slot.start and slot.end <= we for ws, we in working), slot
        assert (slot.provider_id, slot.start) not in seen
        seen.add((slot.provider_id, slot.start))
        local = slot.start.astimezone(clinic.providers["a"].timezone)
        assert local.fold == 0  # a repeated wall time is offered at its first occurrence only
    assert [s.start for s in slots] == sorted(s.start for s in slots)
