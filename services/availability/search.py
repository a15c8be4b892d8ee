"""What FindSlots answers: the requested days' free slots, or the next days that have some.

Pure: the servicer fetches the clinic and the busy intervals, this module decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from services.availability.clinic import AppointmentType, Clinic
from services.availability.phrases import DateRequest, PartOfDay
from services.availability.slots import Busy, FreeSlot, SlotQuery, bookable_window, free_slots, wall_to_utc

# How far past the requested days we look for alternatives (bounded: the caller is waiting).
ALTERNATIVE_SEARCH_DAYS = 14
# How many days with free slots to offer as alternatives.
ALTERNATIVE_DAYS = 2
# When a time was asked for ("at 3 pm"), offer slots from an hour before to two hours after it.
NEAR_TIME_BEFORE = timedelta(hours=1)
NEAR_TIME_AFTER = timedelta(hours=2)
DEFAULT_RANGE_DAYS = 7


class Refusal:
    DATE_IN_PAST = "DATE_IN_PAST"
    OUTSIDE_BOOKING_WINDOW = "OUTSIDE_BOOKING_WINDOW"


@dataclass(frozen=True)
class Plan:
    first_day: date
    last_day: date
    # Days searched for alternatives (after last_day, or from today when refused).
    alternatives_from: date
    alternatives_to: date
    refusal: str | None

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
            Refusal.DATE_IN_PAST,
        )
    if wanted.start > horizon:
        start = max(today, horizon - timedelta(days=ALTERNATIVE_SEARCH_DAYS))
        return Plan(wanted.start, wanted.end, start, horizon, Refusal.OUTSIDE_BOOKING_WINDOW)
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


def requested_slots(
    clinic: Clinic,
    service: AppointmentType,
    the_plan: Plan,
    busy: Mapping[str, Sequence[Busy]],
    now: datetime,
    *,
    provider_ids: tuple[str, ...] = (),
    part: PartOfDay | None = None,
    near: datetime | None = None,
    limit: int = 20,
) -> list[FreeSlot]:
    """Free slots in the requested days (none when the request was refused)."""
    if the_plan.refusal is not None:
        return []
    # Near a time, look at the whole day first and pick the slots around it.
    query = SlotQuery(the_plan.first_day, the_plan.last_day, provider_ids, part, None if near else limit)
    slots = free_slots(clinic, service, query, busy, now)
    if near is not None:
        close = [s for s in slots if near - NEAR_TIME_BEFORE <= s.start <= near + NEAR_TIME_AFTER]
        slots = close or slots
    return slots[:limit]


def alternative_slots(
    clinic: Clinic,
    service: AppointmentType,
    the_plan: Plan,
    busy: Mapping[str, Sequence[Busy]],
    now: datetime,
    *,
    provider_ids: tuple[str, ...] = (),
    part: PartOfDay | None = None,
    limit: int = 20,
) -> list[FreeSlot]:
    """Slots from the next days that have some (at most ALTERNATIVE_DAYS days)."""
    if the_plan.alternatives_from > the_plan.alternatives_to:
        return []
    found: list[FreeSlot] = []
    for wanted_part in (part, None) if part is not None else (None,):
        # Nothing in that part of the day: any time beats nothing.
        query = SlotQuery(the_plan.alternatives_from, the_plan.alternatives_to, provider_ids, wanted_part, limit)
        found = free_slots(clinic, service, query, busy, now)
        if found:
            break
    days: list[date] = []
    alternatives: list[FreeSlot] = []
    for slot in found:
        day = slot.start.astimezone(clinic.timezone).date()
        if day not in days:
            if len(days) == ALTERNATIVE_DAYS:
                break
            days.append(day)
        alternatives.append(slot)
    return alternatives[:limit]
