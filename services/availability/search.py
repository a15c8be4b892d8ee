"""What FindSlots answers: the requested days' free slots, or the next days that have some.

Pure: the servicer fetches the clinic and the busy intervals, this module decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from services.availability.clinic import AppointmentType, Clinic
from services.availability.phrases import DateRequest, PartOfDay
from services.availability.refusals import DATE_IN_PAST, OUTSIDE_BOOKING_WINDOW, Refusal
from services.availability.slots import Busy, FreeSlot, SlotQuery, bookable_window, free_slots, wall_to_utc

# How far past the requested days we look for alternatives (bounded: the caller is waiting).
ALTERNATIVE_SEARCH_DAYS = 14
# How many days with free slots to offer as alternatives.
ALTERNATIVE_DAYS = 2
# When a time was asked for ("at 3 pm"), offer slots from an hour before to two hours after it.
NEAR_TIME_BEFORE = timedelta(hours=1)
NEAR_TIME_AFTER = timedelta(hours=2)
DEFAULT_RANGE_DAYS = 7


@dataclass(frozen=True)
class Search:
    """One FindSlots request as the search sees it (the clinic, the service, and the caller's wishes)."""

    clinic: Clinic
    service: AppointmentType
    now: datetime
    provider_ids: tuple[str, ...] = ()  # empty = every provider offering the service
    part: PartOfDay | None = None
    near: datetime | None = None  # a time asked for ("at 3 pm"), UTC
    limit: int = 20
    # "after 4", "before noon": clinic-local bounds on a slot's start (from `after`, before `before`)
    after: time | None = None
    before: time | None = None

    @property
    def bounded(self) -> bool:
        return self.after is not None or self.before is not None

    def within_bounds(self, slots: list[FreeSlot]) -> list[FreeSlot]:
        zone = self.clinic.timezone
        return [
            s
            for s in slots
            if (self.after is None or s.start.astimezone(zone).time() >= self.after)
            and (self.before is None or s.start.astimezone(zone).time() < self.before)
        ]


@dataclass(frozen=True)
class Plan:
    first_day: date
    last_day: date
    # Days searched for alternatives (after last_day, or from today when refused).
    alternatives_from: date
    alternatives_to: date
    refusal: Refusal | None

    def requested_range(self, clinic: Clinic) -> tuple[datetime, datetime]:
        return _utc_range(clinic, self.first_day, self.last_day)

    def alternatives_range(self, clinic: Clinic) -> tuple[datetime, datetime]:
        return _utc_range(clinic, self.alternatives_from, self.alternatives_to)


def _utc_range(clinic: Clinic, first: date, last: date) -> tuple[datetime, datetime]:
    """UTC range whose busy intervals can matter for these days (a day's margin covers buffers)."""
    return (
        wall_to_utc(first - timedelta(days=1), 0, clinic.timezone),
        wall_to_utc(last + timedelta(days=2), 0, clinic.timezone),
    )


def plan(clinic: Clinic, service: AppointmentType, wanted: DateRequest | None, now: datetime) -> Plan:
    today = now.astimezone(clinic.timezone).date()
    _, horizon = bookable_window(clinic, service.rules, now)
    if wanted is None:
        first, last = today, min(today + timedelta(days=DEFAULT_RANGE_DAYS - 1), horizon)
        return Plan(
            first, last, last + timedelta(days=1), min(last + timedelta(days=ALTERNATIVE_SEARCH_DAYS), horizon), None
        )
    if wanted.in_past or wanted.end < today:
        return Plan(
            wanted.start,
            wanted.end,
            today,
            min(today + timedelta(days=ALTERNATIVE_SEARCH_DAYS), horizon),
            DATE_IN_PAST,
        )
    if wanted.start > horizon:
        start = max(today, horizon - timedelta(days=ALTERNATIVE_SEARCH_DAYS))
        return Plan(wanted.start, wanted.end, start, horizon, OUTSIDE_BOOKING_WINDOW)
    first = max(wanted.start, today)
    last = min(wanted.end, horizon)
    return Plan(
        first, last, last + timedelta(days=1), min(last + timedelta(days=ALTERNATIVE_SEARCH_DAYS), horizon), None
    )


def chunks(the_plan: Plan) -> list[Plan]:
    """The requested days split as: the first day, then the rest (fetched only when needed)."""
    if the_plan.first_day >= the_plan.last_day:
        return [the_plan]
    first = replace(the_plan, last_day=the_plan.first_day)
    return [first, replace(the_plan, first_day=the_plan.first_day + timedelta(days=1))]


def requested_slots(search: Search, the_plan: Plan, busy: Mapping[str, Sequence[Busy]], limit: int) -> list[FreeSlot]:
    """Free slots in the requested days (none when the request was refused), at most `limit`."""
    if the_plan.refusal is not None:
        return []
    near = search.near
    # Near a time, look at the whole day first and pick the slots around it.
    whole_days = near is not None or search.bounded
    query = SlotQuery(
        the_plan.first_day, the_plan.last_day, search.provider_ids, search.part, None if whole_days else limit
    )
    slots = search.within_bounds(free_slots(search.clinic, search.service, query, busy, search.now))
    if near is not None:
        close = [s for s in slots if near - NEAR_TIME_BEFORE <= s.start <= near + NEAR_TIME_AFTER]
        slots = close or slots
    return slots[:limit]


def alternative_slots(search: Search, the_plan: Plan, busy: Mapping[str, Sequence[Busy]]) -> list[FreeSlot]:
    """Slots from the days nearest to the ones asked that have some (at most ALTERNATIVE_DAYS days).

    Asked beyond the booking window, the nearest days are the last bookable ones before the
    horizon, latest day first; otherwise the next days after the asked ones (or after today)."""
    if the_plan.alternatives_from > the_plan.alternatives_to:
        return []
    latest_first = the_plan.refusal == OUTSIDE_BOOKING_WINDOW
    found: list[FreeSlot] = []
    part = search.part
    # Latest first needs every slot of the window's last days, so no count limit then.
    limit = None if latest_first or search.bounded else search.limit
    wishes = [(part, True)] + ([(None, False)] if part is not None or search.bounded else [])
    for wanted_part, bounded in wishes:
        # Nothing in that part of the day (or between the times asked): any time beats nothing.
        query = SlotQuery(the_plan.alternatives_from, the_plan.alternatives_to, search.provider_ids, wanted_part, limit)
        found = free_slots(search.clinic, search.service, query, busy, search.now)
        found = search.within_bounds(found) if bounded else found
        if found:
            break
    by_day: dict[date, list[FreeSlot]] = {}
    for slot in found:
        by_day.setdefault(slot.start.astimezone(search.clinic.timezone).date(), []).append(slot)
    days = sorted(by_day, reverse=latest_first)[:ALTERNATIVE_DAYS]
    return [slot for day in days for slot in by_day[day]][: search.limit]
