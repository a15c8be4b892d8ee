"""Table-driven tests of the free-slot math (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.availability.phrases import PartOfDay
from services.availability.slots import Busy, SlotQuery, day_candidates, free_slots, is_free_slot
from tests.unit.clinics import clinic_dict, make_clinic

NY = ZoneInfo("America/New_York")
MONDAY = date(2030, 1, 7)
SUNDAY_NOON = datetime(2030, 1, 6, 12, 0, tzinfo=NY)
FULL_DAY = [
    "09:00", "09:30", "10:00", "10:30", "11:00", "11:30",
    "13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30",
]  # fmt: skip


def at(day: date, hhmm: str, zone: ZoneInfo = NY) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def busy(day: date, start: str, end: str, provider: str = "a") -> tuple[str, Busy]:
    return provider, Busy(at(day, start).astimezone(UTC), at(day, end).astimezone(UTC))


@dataclass
class Case:
    name: str
    expected: list[str]  # local "HH:MM" (or "provider@HH:MM" when `with_provider`)
    day: date = MONDAY
    now: datetime = SUNDAY_NOON
    clinic: dict[str, Any] = field(default_factory=dict)
    service: dict[str, Any] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)
    provider: dict[str, Any] = field(default_factory=dict)
    extra_providers: list[dict[str, Any]] = field(default_factory=list)
    busy: list[tuple[str, Busy]] = field(default_factory=list)
    query: dict[str, Any] = field(default_factory=dict)
    with_provider: bool = False
    zone: ZoneInfo = NY


def sunday_hours(hours: list[str]) -> dict[str, Any]:
    return {"hours": {"sun": hours}}


CASES = [
    Case("plain working day with a lunch break", FULL_DAY),
    Case(
        "45-minute service stops where it would cross the break or the end",
        ["09:00", "09:30", "10:00", "10:30", "11:00", "13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00"],
        service={"duration_minutes": 45},
    ),
    Case(
        "15-minute step for a 30-minute service",
        ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45", "11:00", "11:15", "11:30"],
        rules={"slot_interval_minutes": 15},
        query={"part": PartOfDay.MORNING},
    ),
    Case(
        "buffer after keeps clear of a later booking",
        ["09:00", "10:30", "11:00", "11:30"],
        service={"buffer_after_minutes": 10},
        busy=[busy(MONDAY, "10:00", "10:30")],
        query={"part": PartOfDay.MORNING},
    ),
    Case(
        "buffer before keeps clear of an earlier booking",
        ["10:00", "10:30", "11:00", "11:30"],
        service={"buffer_before_minutes": 15},
        busy=[busy(MONDAY, "09:00", "09:30")],
        query={"part": PartOfDay.MORNING},
    ),
    Case(
        "a booking ending at 10:00 does not block 10:00",
        ["10:00", "10:30", "11:00", "11:30"],
        busy=[busy(MONDAY, "09:00", "10:00")],
        query={"part": PartOfDay.MORNING},
    ),
    Case(
        "a booking starting at 10:00 does not block 09:30",
        ["09:00", "09:30", "11:00", "11:30"],
        busy=[busy(MONDAY, "10:00", "11:00")],
        query={"part": PartOfDay.MORNING},
    ),
    Case(
        "busy one minute into a slot blocks it",
        ["09:00", "10:00", "10:30", "11:00", "11:30"],
        busy=[busy(MONDAY, "09:59", "10:00")],
        query={"part": PartOfDay.MORNING},
    ),
    Case(
        "minimum notice from mid-morning",
        ["11:30", *FULL_DAY[6:]],
        now=at(MONDAY, "10:10"),
        rules={"min_notice_minutes": 60},
    ),
    Case(
        "minimum notice reaching across the break",
        FULL_DAY[6:],
        now=at(MONDAY, "11:20"),
        rules={"min_notice_minutes": 60},
    ),
    Case(
        "a slot starting exactly at now + notice is offered",
        FULL_DAY[2:],
        now=at(MONDAY, "09:00"),
        rules={"min_notice_minutes": 60},
    ),
    Case("horizon: tomorrow allowed with max one day ahead", FULL_DAY, rules={"max_days_ahead": 1}),
    Case("horizon: the day after is refused", [], day=date(2030, 1, 8), rules={"max_days_ahead": 1}),
    Case("the past is never offered", [], day=date(2030, 1, 4)),
    Case("a weekday without hours is a day off", [], day=date(2030, 1, 12)),
    Case("whole-day time off", [], provider={"time_off": [{"date": "2030-01-07"}]}),
    Case(
        "multi-day time off covers the middle day",
        [],
        provider={"time_off": [{"from": "2030-01-05", "to": "2030-01-09"}]},
    ),
    Case(
        "partial time off",
        ["13:00", "13:30", "15:00", "15:30", "16:00", "16:30"],
        provider={"time_off": [{"date": "2030-01-07", "hours": ["14:00-15:00"]}]},
        query={"part": PartOfDay.AFTERNOON},
    ),
    Case(
        "extra hours on a Saturday",
        ["10:00", "10:30"],
        day=date(2030, 1, 12),
        provider={"extra_hours": [{"date": "2030-01-12", "hours": ["10:00-11:00"]}]},
    ),
    Case(
        "extra hours joining the lunch break",
        [*FULL_DAY[:6], "12:00", "12:30", *FULL_DAY[6:]],
        provider={"extra_hours": [{"date": "2030-01-07", "hours": ["12:00-13:00"]}]},
    ),
    Case("clinic holiday closes the day", [], clinic={"holidays": [{"date": "2030-01-07", "reason": "closed"}]}),
    Case(
        "clinic closes early for a partial holiday",
        FULL_DAY[:10],
        clinic={"holidays": [{"date": "2030-01-07", "hours": ["15:00-17:00"]}]},
    ),
    Case(
        "DST spring-forward New York: no slot in the skipped hour",
        ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30", "04:00", "04:30"],
        day=date(2030, 3, 10),
        now=datetime(2030, 3, 9, 12, tzinfo=NY),
        provider=sunday_hours(["00:00-05:00"]),
    ),
    Case(
        "DST spring-forward: hours starting in the skipped hour start at the jump",
        ["03:00", "03:05", "03:10"],
        day=date(2030, 3, 10),
        now=datetime(2030, 3, 9, 12, tzinfo=NY),
        rules={"slot_interval_minutes": 5},
        service={"duration_minutes": 5},
        provider=sunday_hours(["02:15-03:15"]),
    ),
    Case(
        "DST spring-forward: hours ending in the skipped hour end at the jump",
        ["01:00", "01:30"],
        day=date(2030, 3, 10),
        now=datetime(2030, 3, 9, 12, tzinfo=NY),
        provider=sunday_hours(["01:00-02:30"]),
    ),
    Case(
        "DST fall-back New York: the repeated hour is offered once",
        ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "03:00", "03:30"],
        day=date(2030, 11, 3),
        now=datetime(2030, 11, 2, 12, tzinfo=NY),
        provider=sunday_hours(["00:00-04:00"]),
    ),
    Case(
        "DST spring-forward London",
        ["00:00", "00:30", "02:00", "02:30"],
        day=date(2030, 3, 31),
        zone=ZoneInfo("Europe/London"),
        clinic={"timezone": "Europe/London"},
        now=datetime(2030, 3, 30, 12, tzinfo=ZoneInfo("Europe/London")),
        provider=sunday_hours(["00:00-03:00"]),
    ),
    Case(
        "DST fall-back London",
        ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"],
        day=date(2030, 10, 27),
        zone=ZoneInfo("Europe/London"),
        clinic={"timezone": "Europe/London"},
        now=datetime(2030, 10, 26, 12, tzinfo=ZoneInfo("Europe/London")),
        provider=sunday_hours(["00:00-03:00"]),
    ),
    Case(
        "a 09:00 slot stays 09:00 local the day after spring-forward",
        ["09:00", "09:30"],
        day=date(2030, 3, 11),
        now=datetime(2030, 3, 9, 12, tzinfo=NY),
        provider={"hours": {"mon": ["09:00-10:00"]}},
    ),
    Case(
        "provider in London, spoken in New York time",
        ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30", "13:00", "13:30", "14:00", "14:30"],
        provider={"timezone": "Europe/London", "hours": {"mon": ["14:00-20:00"]}},
    ),
    Case(
        "provider in Tokyo: their Tuesday morning is our Monday evening",
        ["18:00", "18:30", "19:00", "19:30"],
        provider={"timezone": "Asia/Tokyo", "hours": {"tue": ["08:00-10:00"]}},
    ),
    Case(
        "two providers interleave by time then provider order",
        ["a@09:00", "b@09:00", "a@09:30", "b@09:30"],
        extra_providers=[{"id": "b", "name": "Dr. B", "hours": {"mon": ["09:00-10:00"]}}],
        provider={"hours": {"mon": ["09:00-10:00"]}},
        with_provider=True,
    ),
    Case(
        "filter by provider",
        ["b@09:00", "b@09:30"],
        extra_providers=[{"id": "b", "name": "Dr. B", "hours": {"mon": ["09:00-10:00"]}}],
        query={"provider_ids": ("b",)},
        with_provider=True,
    ),
    Case(
        "a provider's busy time does not block another provider",
        ["a@09:00", "b@09:00", "b@09:30"],
        extra_providers=[{"id": "b", "name": "Dr. B", "hours": {"mon": ["09:00-10:00"]}}],
        provider={"hours": {"mon": ["09:00-10:00"]}},
        busy=[busy(MONDAY, "09:30", "10:00", "a")],
        with_provider=True,
    ),
    Case("part of day: afternoon", FULL_DAY[6:], query={"part": PartOfDay.AFTERNOON}),
    Case(
        "part of day: evening",
        ["17:00", "17:30"],
        provider={"hours": {"mon": ["16:00-18:00"]}},
        query={"part": PartOfDay.EVENING},
    ),
    Case("limit keeps the earliest", ["09:00", "09:30", "10:00"], query={"limit": 3}),
    Case(
        "overlapping, unsorted busy ranges",
        ["09:00", "11:30"],
        busy=[busy(MONDAY, "10:00", "11:00"), busy(MONDAY, "09:30", "10:30"), busy(MONDAY, "10:45", "11:30")],
        query={"part": PartOfDay.MORNING},
    ),
    Case("hours until midnight", ["23:00", "23:30"], provider={"hours": {"mon": ["23:00-24:00"]}}),
]


def build(case: Case):  # type: ignore[no-untyped-def]
    data = clinic_dict(**case.clinic)
    data["rules"] = {**data["rules"], **case.rules}
    data["services"] = [{**data["services"][0], **case.service}]
    provider = {**data["providers"][0], **case.provider}
    data["providers"] = [provider, *case.extra_providers]
    clinic = make_clinic(**data)
    return clinic, clinic.services["cleaning"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_free_slots(case: Case) -> None:
    clinic, service = build(case)
    busy_map: dict[str, list[Busy]] = {}
    for provider_id, item in case.busy:
        busy_map.setdefault(provider_id, []).append(item)
    query = SlotQuery(case.day, case.day, **case.query)
    slots = free_slots(clinic, service, query, busy_map, case.now.astimezone(UTC))
    got = [
        (f"{s.provider_id}@" if case.with_provider else "") + s.start.astimezone(case.zone).strftime("%H:%M")
        for s in slots
    ]
    assert got == case.expected
    for slot in slots:
        assert slot.start.tzinfo is not None and slot.end - slot.start == service.duration


def test_enough_cases() -> None:
    assert len(CASES) >= 25


def test_a_nine_oclock_slot_is_nine_local_on_both_sides_of_dst() -> None:
    clinic = make_clinic(
        providers=[{"id": "a", "name": "A", "hours": {"fri": ["09:00-09:30"], "mon": ["09:00-09:30"]}}]
    )
    service = clinic.services["cleaning"]
    now = datetime(2030, 3, 1, tzinfo=UTC)
    before = free_slots(clinic, service, SlotQuery(date(2030, 3, 8), date(2030, 3, 8)), {}, now)
    after = free_slots(clinic, service, SlotQuery(date(2030, 3, 11), date(2030, 3, 11)), {}, now)
    assert before[0].start.hour == 14 and after[0].start.hour == 13  # UTC moves, local stays 09:00
    assert before[0].start.astimezone(NY).hour == after[0].start.astimezone(NY).hour == 9


def test_a_range_of_days_lists_each_day_in_order() -> None:
    clinic = make_clinic()
    slots = free_slots(
        clinic, clinic.services["cleaning"], SlotQuery(MONDAY, date(2030, 1, 13)), {}, SUNDAY_NOON.astimezone(UTC)
    )
    days = sorted({s.start.astimezone(NY).date() for s in slots})
    assert days == [date(2030, 1, d) for d in (7, 8, 9, 10, 11)]
    assert len(slots) == 5 * len(FULL_DAY)
    assert [s.start for s in slots] == sorted(s.start for s in slots)


def test_is_free_slot_accepts_offered_times_only() -> None:
    clinic = make_clinic()
    service = clinic.services["cleaning"]
    now = SUNDAY_NOON.astimezone(UTC)
    assert is_free_slot(clinic, service, "a", at(MONDAY, "09:30").astimezone(UTC), now)
    assert not is_free_slot(clinic, service, "a", at(MONDAY, "09:10").astimezone(UTC), now)
    assert not is_free_slot(clinic, service, "a", at(MONDAY, "12:00").astimezone(UTC), now)
    assert not is_free_slot(clinic, service, "b", at(MONDAY, "09:30").astimezone(UTC), now)


def test_a_days_candidate_starts_are_computed_once_per_configuration_and_busy_time_still_applies() -> None:
    clinic = make_clinic()
    service = clinic.services["cleaning"]
    query = SlotQuery(MONDAY, MONDAY)
    first = free_slots(clinic, service, query, {}, SUNDAY_NOON)
    remembered = day_candidates(clinic, service, MONDAY)
    assert day_candidates(clinic, service, MONDAY) is remembered  # not computed again
    taken = dict([busy(MONDAY, "09:00", "10:00")])
    again = free_slots(clinic, service, query, {"a": [taken["a"]]}, SUNDAY_NOON)
    assert [s.start for s in again] == [s.start for s in first if s.start >= at(MONDAY, "10:00")]
    assert day_candidates(make_clinic(), service, MONDAY) is not remembered  # a new configuration: its own


def test_the_limit_stops_the_search_with_the_earliest_slots_of_every_provider() -> None:
    two = [{"id": p, "name": p, "hours": {"mon": ["09:00-12:00"], "tue": ["09:00-12:00"]}} for p in ("a", "b")]
    clinic = make_clinic(providers=two)
    service = clinic.services["cleaning"]
    slots = free_slots(clinic, service, SlotQuery(MONDAY, date(2030, 1, 8), limit=3), {}, SUNDAY_NOON)
    assert [(s.provider_id, s.start) for s in slots] == [
        ("a", at(MONDAY, "09:00")), ("b", at(MONDAY, "09:00")), ("a", at(MONDAY, "09:30")),
    ]  # fmt: skip
