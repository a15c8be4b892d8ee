"""Free-slot computation. Pure: no I/O, no clock (`now` is passed in).

Working time is built per provider-local day from weekly hours, minus time off, plus extra
hours; clinic holidays close the clinic's local days. Candidate starts step through wall-clock
time from each working interval's start, so a 09:00 slot stays 09:00 across daylight-saving
changes: a start inside the skipped spring-forward hour does not exist and is not offered, and
in the repeated fall-back hour only the first occurrence of each wall time is offered.

A slot is free when the appointment lies inside working time, it starts no earlier than
now + minimum notice and no later than the booking horizon, and the time it occupies
(appointment plus buffers before and after) overlaps no busy interval. Intervals are
half-open: a booking ending at 10:00 does not block one starting at 10:00.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.availability.clinic import AppointmentType, Clinic, DateException, Provider, Rules, WallInterval
from services.availability.phrases import PartOfDay

DAY_MINUTES = 24 * 60
AFTERNOON_STARTS = time(12, 0)
EVENING_STARTS = time(17, 0)


@dataclass(frozen=True, order=True)
class Busy:
    """An occupied UTC range [start, end) of one provider."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class FreeSlot:
    provider_id: str
    service_id: str
    start: datetime  # UTC
    end: datetime  # UTC, start + duration (buffers not included)


def part_of_day(local: datetime) -> PartOfDay:
    if local.time() < AFTERNOON_STARTS:
        return PartOfDay.MORNING
    if local.time() < EVENING_STARTS:
        return PartOfDay.AFTERNOON
    return PartOfDay.EVENING


def local_datetime(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """Wall time `minutes` after midnight of `day` in `zone` (1440 = next midnight)."""
    extra_days, minutes = divmod(minutes, DAY_MINUTES)
    return datetime.combine(day + timedelta(days=extra_days), time(minutes // 60, minutes % 60), tzinfo=zone)


def wall_to_utc(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The instant a wall clock in `zone` shows `minutes` after midnight of `day`.

    A repeated time (fall-back) is its first occurrence. A skipped time (spring-forward) is the
    moment the clock jumps past it: work from 02:15 on a day that skips 02:00-03:00 starts at
    03:00, and work until 02:30 ends at the jump.
    """
    local = local_datetime(day, minutes, zone)
    for _ in range(DAY_MINUTES + 1):
        if exists(local):
            return local.astimezone(UTC)
        minutes += 1
        local = local_datetime(day, minutes, zone)
    raise ValueError(f"no existing wall time after {day} +{minutes} min in {zone}")


def exists(local: datetime) -> bool:
    """False for a wall time inside a spring-forward gap."""
    round_trip = local.astimezone(UTC).astimezone(local.tzinfo)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


def subtract(intervals: Iterable[WallInterval], cuts: Iterable[WallInterval]) -> list[WallInterval]:
    result = list(intervals)
    for cut in cuts:
        next_result = []
        for piece in result:
            if cut.end <= piece.start or cut.start >= piece.end:
                next_result.append(piece)
                continue
            if piece.start < cut.start:
                next_result.append(WallInterval(piece.start, cut.start))
            if cut.end < piece.end:
                next_result.append(WallInterval(cut.end, piece.end))
        result = next_result
    return result


def union(intervals: Iterable[WallInterval]) -> list[WallInterval]:
    merged: list[WallInterval] = []
    for piece in sorted(intervals, key=lambda i: i.start):
        if merged and piece.start <= merged[-1].end:
            merged[-1] = WallInterval(merged[-1].start, max(merged[-1].end, piece.end))
        else:
            merged.append(piece)
    return merged


def working_day(provider: Provider, day: date) -> list[WallInterval]:
    """The provider's working wall-clock intervals on one of their local days."""
    intervals: list[WallInterval] = list(provider.weekly.get(day.isoweekday(), ()))
    covering = [e for e in provider.exceptions if e.covers(day)]
    for exception in covering:
        if exception.time_off:
            intervals = [] if not exception.intervals else subtract(intervals, exception.intervals)
    extra = [i for e in covering if not e.time_off for i in e.intervals]
    return union([*intervals, *extra])


def closed_ranges(holidays: Sequence[DateException], zone: ZoneInfo, first: date, last: date) -> list[Busy]:
    """Clinic holidays as UTC ranges that no appointment may touch."""
    ranges: list[Busy] = []
    day = first
    while day <= last:
        for holiday in holidays:
            if holiday.time_off and holiday.covers(day):
                pieces = holiday.intervals or (WallInterval(0, DAY_MINUTES),)
                for piece in pieces:
                    ranges.append(Busy(wall_to_utc(day, piece.start, zone), wall_to_utc(day, piece.end, zone)))
        day += timedelta(days=1)
    return sorted(ranges)


class BusyIndex:
    """Sorted ranges with a running maximum of their ends: overlap queries in O(log n)."""

    def __init__(self, ranges: Iterable[Busy]) -> None:
        ordered = sorted(ranges)
        self.starts = [r.start for r in ordered]
        self.max_ends: list[datetime] = []
        for r in ordered:
            self.max_ends.append(max(self.max_ends[-1], r.end) if self.max_ends else r.end)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether [start, end) overlaps any range."""
        index = bisect.bisect_left(self.starts, end)  # ranges that start before `end`
        return index > 0 and self.max_ends[index - 1] > start


@dataclass(frozen=True)
class SlotQuery:
    first_day: date  # clinic-local
    last_day: date  # clinic-local, inclusive
    provider_ids: tuple[str, ...] = ()  # empty = every provider offering the service
    part: PartOfDay | None = None
    limit: int | None = None


def bookable_window(clinic: Clinic, rules: Rules, now: datetime) -> tuple[datetime, date]:
    """Earliest start (UTC) and last clinic-local day that may be booked now."""
    earliest = now.astimezone(UTC) + timedelta(minutes=rules.min_notice_minutes)
    last_day = now.astimezone(clinic.timezone).date() + timedelta(days=rules.max_days_ahead)
    return earliest, last_day


def _starts(day: date, interval: WallInterval, zone: ZoneInfo, step: int, duration: timedelta) -> Iterator[datetime]:
    """UTC starts stepping through wall-clock time in one working interval, appointment inside it."""
    local_start = local_datetime(day, interval.start, zone)
    local_end = local_datetime(day, interval.end, zone)
    interval_start = wall_to_utc(day, interval.start, zone)
    interval_end = wall_to_utc(day, interval.end, zone)
    if local_start.utcoffset() == local_end.utcoffset() and exists(local_start) and exists(local_end):
        # No clock change inside (the usual case): wall-clock steps are UTC steps.
        start = interval_start
        delta = timedelta(minutes=step)
        while start + duration <= interval_end:
            yield start
            start += delta
        return
    wall = interval.start
    while wall < interval.end:
        local = local_datetime(day, wall, zone)
        wall += step
        if not exists(local):
            continue  # inside the spring-forward gap
        start = local.astimezone(UTC)
        if start < interval_start:
            continue
        if start + duration > interval_end:
            return
        yield start


def free_slots(
    clinic: Clinic,
    service: AppointmentType,
    query: SlotQuery,
    busy: Mapping[str, Sequence[Busy]],
    now: datetime,
) -> list[FreeSlot]:
    """Free slots of `service` on the clinic-local days of `query`, earliest first, then by provider.

    Days are taken in order and the search stops at `limit` slots.
    """
    earliest, horizon = bookable_window(clinic, service.rules, now)
    last_day = min(query.last_day, horizon)
    wanted = {
        p for p in service.provider_ids if p in clinic.providers and (not query.provider_ids or p in query.provider_ids)
    }
    indexes = {p: BusyIndex(busy.get(p, ())) for p in wanted}
    before, after, part, limit = service.buffer_before, service.buffer_after, query.part, query.limit
    result: list[FreeSlot] = []
    day = query.first_day
    while day <= last_day:
        day_end, candidates = day_candidates(clinic, service, day)
        day += timedelta(days=1)
        if day_end <= earliest:
            continue
        for start, provider_id, end, start_part in candidates:
            if start < earliest or provider_id not in wanted or (part is not None and start_part is not part):
                continue
            if indexes[provider_id].overlaps(start - before, end + after):
                continue
            result.append(FreeSlot(provider_id, service.service_id, start, end))
            if limit is not None and len(result) >= limit:
                return result
    return result


# A clinic day's candidate starts depend on its configuration only: kept on the Clinic object
# (a new configuration is a new object), at most this many days x services at a time.
MEMO_DAYS = 512
Candidate = tuple[datetime, str, datetime, PartOfDay]  # start, provider id, end, clinic-local part of day


def day_candidates(clinic: Clinic, service: AppointmentType, day: date) -> tuple[datetime, tuple[Candidate, ...]]:
    """Where the clinic-local `day` ends (UTC), and every start the schedule offers on it for
    `service` (working time of each provider, holidays out; busy time and `now` not applied),
    ordered by start then provider position."""
    key = (service.service_id, day)
    memo = clinic.memo
    known = memo.get(key)
    if known is not None:
        return known  # type: ignore[no-any-return]
    zone = clinic.timezone
    day_start, day_end = wall_to_utc(day, 0, zone), wall_to_utc(day + timedelta(days=1), 0, zone)
    closed = BusyIndex(closed_ranges(clinic.holidays, zone, day, day))
    found: list[tuple[datetime, int, str, datetime]] = []
    for provider_id in service.provider_ids:
        provider = clinic.providers.get(provider_id)
        if provider is not None:
            _provider_day(provider, service, day_start, day_end, closed, found)
    found.sort(key=lambda item: (item[0], item[1]))
    candidates = tuple((start, pid, end, part_of_day(start.astimezone(zone))) for start, _, pid, end in found)
    if len(memo) >= MEMO_DAYS:
        memo.clear()
    memo[key] = (day_end, candidates)
    return day_end, candidates


def _provider_day(
    provider: Provider,
    service: AppointmentType,
    day_start: datetime,
    day_end: datetime,
    closed: BusyIndex,
    found: list[tuple[datetime, int, str, datetime]],
) -> None:
    """Append the provider's starts in [day_start, day_end) that no holiday touches to `found`."""
    step, duration = service.rules.slot_interval_minutes, service.duration
    pzone = provider.timezone
    seen: set[datetime] = set()
    pday = day_start.astimezone(pzone).date() - timedelta(days=1)
    plast = day_end.astimezone(pzone).date()
    while pday <= plast:
        for interval in working_day(provider, pday):
            for start in _starts(pday, interval, pzone, step, duration):
                if start < day_start or start >= day_end or start in seen:
                    continue
                end = start + duration
                if closed.overlaps(start, end):
                    continue
                seen.add(start)
                found.append((start, provider.position, provider.provider_id, end))
        pday += timedelta(days=1)


def providers_free_at(
    clinic: Clinic, service: AppointmentType, start: datetime, now: datetime, provider_ids: tuple[str, ...] = ()
) -> list[str]:
    """Providers (of `provider_ids`, or all offering `service`) for whom `start` is an offered slot,
    in clinic order (conflicts aside)."""
    day = start.astimezone(clinic.timezone).date()
    query = SlotQuery(day, day, provider_ids=provider_ids)
    return [s.provider_id for s in free_slots(clinic, service, query, {}, now) if s.start == start]


def is_free_slot(clinic: Clinic, service: AppointmentType, provider_id: str, start: datetime, now: datetime) -> bool:
    """Whether `start` is one of the slots the schedule and rules offer now (conflicts aside)."""
    return provider_id in providers_free_at(clinic, service, start, now, (provider_id,))
