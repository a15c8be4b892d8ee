"""The day view's model, from the schedule's messages: a column per provider with its
appointments, holds and blocked time in the clinic's local time. Pure: no I/O, no clock (`now`
is given), so it is tested with plain values."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.reservation.v1 import reservation_pb2 as rpb
from common.timestamps import from_timestamp

FIRST_HOUR, LAST_HOUR = 7, 19  # shown at least; widened to fit anything earlier or later


@dataclass(frozen=True)
class Item:
    kind: str  # "appointment", "hold" or "block"
    id: str
    provider_id: str
    start: datetime  # clinic's local time
    end: datetime
    title: str  # the patient's name; for a block, its reason
    detail: str  # the service's name; for a block, who blocked it
    minutes_left: int = 0  # a hold's remaining minutes

    @property
    def label(self) -> str:
        if self.start.utcoffset() != self.end.utcoffset():  # across a DST change: 01:30 EDT–01:00 EST
            return f"{self.start:%H:%M %Z}–{self.end:%H:%M %Z}"
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass
class Column:
    provider_id: str
    name: str
    items: list[Item] = field(default_factory=list)


@dataclass(frozen=True)
class Day:
    date: date
    zone: ZoneInfo
    columns: list[Column]
    first_hour: int
    last_hour: int

    @property
    def previous(self) -> dt.date:
        return self.date - timedelta(days=1)

    @property
    def next(self) -> dt.date:
        return self.date + timedelta(days=1)

    def week(self, weeks: int) -> dt.date:
        return self.date + timedelta(weeks=weeks)


def day_range(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day's [midnight, next midnight) in UTC: 23 or 25 hours long across a DST change."""
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start, end


def local(day: date, clock_time: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time of the clinic's day as an aware datetime (the later one when a DST change repeats it)."""
    return datetime.combine(day, clock_time, zone)


def _appointment(a: rpb.Appointment, zone: ZoneInfo, services: dict[str, str]) -> Item:
    return Item(
        "appointment", a.appointment_id, a.slot.provider_id, from_timestamp(a.slot.start).astimezone(zone),
        from_timestamp(a.slot.end).astimezone(zone), a.patient.name,
        services.get(a.slot.service_id, a.slot.service_id),
    )  # fmt: skip


def _hold(h: rpb.Hold, zone: ZoneInfo, services: dict[str, str], now: datetime) -> Item:
    left = max(0, math.ceil((from_timestamp(h.expires_at) - now).total_seconds() / 60))
    return Item(
        "hold", h.hold_id, h.slot.provider_id, from_timestamp(h.slot.start).astimezone(zone),
        from_timestamp(h.slot.end).astimezone(zone), h.patient.name, services.get(h.slot.service_id, ""), left,
    )  # fmt: skip


def _block(b: rpb.BlockedTime, zone: ZoneInfo) -> Item:
    return Item(
        "block", b.block_id, b.provider_id, from_timestamp(b.range.start).astimezone(zone),
        from_timestamp(b.range.end).astimezone(zone), b.action.reason, b.action.actor.removeprefix("console:"),
    )  # fmt: skip


def build_day(
    day: date, zone: ZoneInfo, providers: list[tuple[str, str]], services: dict[str, str],
    appointments: list[rpb.Appointment], live: rpb.ListHoldsAndBlocksResponse, now: datetime,
) -> Day:  # fmt: skip
    """Columns in the providers' order; items by start. A provider not configured any more still
    gets a column when it has something on the day (nothing booked is hidden)."""
    columns = {pid: Column(pid, name) for pid, name in providers}
    items = [_appointment(a, zone, services) for a in appointments]
    items += [_hold(h, zone, services, now) for h in live.holds]
    items += [_block(b, zone) for b in live.blocks]
    for item in sorted(items, key=lambda i: (i.start, i.kind, i.id)):
        columns.setdefault(item.provider_id, Column(item.provider_id, item.provider_id)).items.append(item)
    first, last = FIRST_HOUR, LAST_HOUR
    midnight, _ = day_range(day, zone)
    for item in items:
        first = min(first, max(0, int((item.start - midnight).total_seconds() // 3600)))
        last = max(last, min(24, math.ceil((item.end - midnight).total_seconds() / 3600)))
    return Day(day, zone, list(columns.values()), first, last)
