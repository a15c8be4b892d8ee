"""When a reminder text is due, and what the worker does with one that has come due. Pure: no
clock, no I/O.

Meanings chosen:
- a reminder `offset` minutes before the start is due `offset` elapsed minutes before it (across a
  daylight-saving change, "24 h before" is 24 real hours before, not the same wall time);
- quiet hours are clinic-local wall times [start, end), wrapping midnight when start > end
  (21:00-08:00); start == end means none. A reminder due inside them is due instead in the last
  minute before they began (21:00-08:00: at 20:59 local the evening before or the same evening);
- a reminder already due when it was scheduled (booked or moved too late for it) is skipped;
- one that comes due late (the workers were down) is sent at once unless that is inside quiet
  hours, when it waits for their end; if the appointment has begun by then it is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_MINUTES = 24 * 60
BEFORE_QUIET = timedelta(minutes=1)
# The skip reasons (the reservation_reminders_skipped counter's `reason` label).
BOOKED_LATE = "booked_late"
STARTED = "appointment_started"


@dataclass(frozen=True)
class QuietHours:
    """[start, end) in minutes after local midnight; wraps midnight when start > end."""

    start: int
    end: int

    @classmethod
    def parse(cls, start: str, end: str) -> QuietHours:
        """From "HH:MM" texts (availability validated them; empty = none)."""
        if not start or not end:
            return cls(0, 0)
        return cls(_minutes(start), _minutes(end))

    def contains(self, minute: int) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _minute_of_day(at: datetime, zone: ZoneInfo) -> tuple[datetime, int]:
    local = at.astimezone(zone)
    return local, local.hour * 60 + local.minute


def _at(local: datetime, minute: int, zone: ZoneInfo, days: int = 0) -> datetime:
    """A wall time of the clinic as an instant (UTC: arithmetic on it is elapsed time)."""
    day = local.date() + timedelta(days=days)
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone).astimezone(UTC)


def quiet_began(at: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime:
    """When the quiet period containing `at` began (`at` must be inside one)."""
    local, minute = _minute_of_day(at, zone)
    yesterday = quiet.start > quiet.end and minute < quiet.end
    return _at(local, quiet.start, zone, -1 if yesterday else 0)


def quiet_ends(at: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime:
    """When the quiet period containing `at` ends (`at` must be inside one)."""
    local, minute = _minute_of_day(at, zone)
    tomorrow = quiet.start > quiet.end and minute >= quiet.start
    return _at(local, quiet.end, zone, 1 if tomorrow else 0)


def in_quiet_hours(at: datetime, zone: ZoneInfo, quiet: QuietHours) -> bool:
    return quiet.contains(_minute_of_day(at, zone)[1])


def due_at(starts_at: datetime, offset_minutes: int, zone: ZoneInfo, quiet: QuietHours) -> datetime:
    """When the reminder `offset_minutes` before `starts_at` is sent (UTC)."""
    # In UTC: Python subtracts wall time between datetimes of one zone, elapsed time only in UTC.
    due = starts_at.astimezone(UTC) - timedelta(minutes=offset_minutes)
    if in_quiet_hours(due, zone, quiet):
        due = quiet_began(due, zone, quiet) - BEFORE_QUIET
    return due


@dataclass(frozen=True)
class Decision:
    """What the worker does with a due reminder: send it, skip it (why), or wait until `later`."""

    send: bool
    skip_reason: str = ""
    later: datetime | None = None


SEND = Decision(send=True)


def decide(
    due: datetime, scheduled_at: datetime, starts_at: datetime, now: datetime, zone: ZoneInfo, quiet: QuietHours
) -> Decision:
    """The fate of a claimed reminder (due <= now)."""
    if due <= scheduled_at:
        return Decision(send=False, skip_reason=BOOKED_LATE)
    if now >= starts_at:
        return Decision(send=False, skip_reason=STARTED)
    if in_quiet_hours(now, zone, quiet):
        ends = quiet_ends(now, zone, quiet)
        if ends >= starts_at:
            return Decision(send=False, skip_reason=STARTED)
        return Decision(send=False, later=ends)
    return SEND
