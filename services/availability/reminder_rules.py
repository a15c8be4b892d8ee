"""A clinic's reminder rules (`rules.reminders` in the clinic file): when patients get a text
before their appointment, and the quiet hours in which no reminder is sent. Pure: no I/O.

Meanings chosen: offsets are elapsed minutes before the start (5 minutes to 14 days, at most five,
no repeats); quiet hours are clinic-local "HH:MM" times and may wrap midnight (21:00-08:00);
equal start and end mean no quiet hours; `enabled: false` turns reminders off. A service's rules
inherit the clinic's reminders unless they give their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from booking.availability.v1 import availability_pb2 as pb

DEFAULT_OFFSETS = (24 * 60, 2 * 60)
DEFAULT_QUIET = ("21:00", "08:00")
OFFSET_RANGE = (5, 14 * 24 * 60)
MAX_OFFSETS = 5
CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Reminders:
    offsets_minutes: tuple[int, ...] = DEFAULT_OFFSETS  # empty: no reminders
    quiet_start: str = DEFAULT_QUIET[0]
    quiet_end: str = DEFAULT_QUIET[1]

    def to_proto(self) -> pb.ReminderRules:
        return pb.ReminderRules(
            offsets_minutes=list(self.offsets_minutes), quiet_start=self.quiet_start, quiet_end=self.quiet_end,
            enabled=bool(self.offsets_minutes),
        )  # fmt: skip


DEFAULT_REMINDERS = Reminders()


def check_reminders(fail: Callable[[str, str], None], path: str, given: pb.ReminderRules, base: Reminders) -> Reminders:
    """The reminders `given` describes (unset parts from `base`); every problem is reported with its path."""
    offsets = tuple(given.offsets_minutes) or base.offsets_minutes
    if given.HasField("enabled") and not given.enabled:
        offsets = ()
    low, high = OFFSET_RANGE
    for index, offset in enumerate(given.offsets_minutes):
        if not low <= offset <= high:
            fail(f"{path}.before_minutes[{index}]", f"{offset} is outside {low}..{high}")
    if len(set(given.offsets_minutes)) != len(given.offsets_minutes):
        fail(f"{path}.before_minutes", "lists the same time twice")
    if len(given.offsets_minutes) > MAX_OFFSETS:
        fail(f"{path}.before_minutes", f"at most {MAX_OFFSETS} reminders")
    start, end = given.quiet_start or base.quiet_start, given.quiet_end or base.quiet_end
    for name, value in (("start", start), ("end", end)):
        if not CLOCK.match(value):
            fail(f"{path}.quiet_hours", f"{name} {value!r} is not a time (HH:MM)")
    return Reminders(tuple(sorted(set(offsets), reverse=True)), start, end)
