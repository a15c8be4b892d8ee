"""Which open times are read out, so a person on the phone can follow them. Pure: no I/O.

People on a phone hold about three options, so at most `MAX_OFFERED` times are read out; the
tool's data still lists every slot for the model. The choice, in order:

- a time was asked for ("at 3 pm"): the three slots nearest to it;
- a part of day was asked for ("in the morning"): the three earliest in it;
- the first day is wide open (`WIDE_OPEN` or more slots): the earliest time as an example and the
  question "morning or afternoon?", because any three times would be an arbitrary pick;
- otherwise the first day's times spread across it: the earliest, the one nearest midday, the
  one nearest mid-afternoon (fewer than three on that day: the next days fill in).
When several providers could take the caller, a tie goes to a provider not named yet, so the
caller hears that there is a choice of provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

MAX_OFFERED = 3
# This many free slots on one day (the gateway asks for 10): the day is wide open.
WIDE_OPEN = 8
# The spread's targets after the earliest slot: midday and mid-afternoon, clinic time.
SPREAD_TARGETS = (time(12, 0), time(15, 0))


@dataclass(frozen=True)
class SpokenSlot:
    """A slot as offered: its clinic-local start and its provider's spoken name."""

    local: datetime  # in the clinic's zone
    provider: str  # spoken name


@dataclass(frozen=True)
class Choice:
    """The slots to read out, and whether to ask "morning or afternoon?" after them."""

    offers: tuple[SpokenSlot, ...]
    ask_part_of_day: bool = False


def _minutes(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def _nearest(candidates: Sequence[SpokenSlot], target: int, named: set[str]) -> SpokenSlot:
    # Nearest in time; a tie goes to a provider not yet named, then to the earlier slot.
    return min(candidates, key=lambda o: (abs(_minutes(o.local) - target), o.provider in named, o.local))


def _pick_near(slots: Sequence[SpokenSlot], targets: Sequence[int], chosen: list[SpokenSlot]) -> list[SpokenSlot]:
    """`chosen` plus, for each target minute of the day, the nearest slot not chosen yet."""
    chosen = list(chosen)
    for target in targets:
        left = [s for s in slots if s not in chosen]
        if not left or len(chosen) == MAX_OFFERED:
            break
        chosen.append(_nearest(left, target, {c.provider for c in chosen}))
    return chosen


def _fill(chosen: list[SpokenSlot], slots: Sequence[SpokenSlot]) -> list[SpokenSlot]:
    """Top up to MAX_OFFERED from the remaining slots, providers not named yet first."""
    named = {c.provider for c in chosen}
    # Days in the order given: alternatives beyond the booking window come latest day first.
    days = list(dict.fromkeys(s.local.date() for s in slots))
    left = sorted(
        (s for s in slots if s not in chosen), key=lambda s: (days.index(s.local.date()), s.provider in named, s.local)
    )
    return chosen + left[: MAX_OFFERED - len(chosen)]


def _first_day(slots: Sequence[SpokenSlot]) -> tuple[date, list[SpokenSlot]]:
    day = slots[0].local.date()  # the nearest day to the one asked comes first
    return day, [s for s in slots if s.local.date() == day]


def choose(slots: Sequence[SpokenSlot], *, near: datetime | None = None, part_asked: bool = False) -> Choice:
    """The slots to read out (at most MAX_OFFERED, in time order); see the module docstring."""
    if not slots:
        return Choice(())
    if near is not None:
        same_day = [s for s in slots if s.local.date() == near.date()] or list(slots)
        chosen = _pick_near(same_day, [_minutes(near)] * MAX_OFFERED, [])
    else:
        _, first_day = _first_day(slots)
        if part_asked:
            chosen = _fill([], first_day) if len(first_day) >= MAX_OFFERED else _fill([], slots)
        elif len(first_day) >= WIDE_OPEN:
            return Choice((first_day[0],), ask_part_of_day=True)
        else:
            earliest = min(first_day, key=lambda s: s.local)
            targets = [t.hour * 60 + t.minute for t in SPREAD_TARGETS]
            chosen = _fill(_pick_near(first_day, targets, [earliest]), slots)
    days = list(dict.fromkeys(s.local.date() for s in slots))
    return Choice(tuple(sorted(chosen, key=lambda s: (days.index(s.local.date()), s.local, s.provider))))
