"""One clinic's busy time in memory: what reservation's ListBusy would answer, kept current by
the changes of its schedule feed (WatchSchedule). Pure: no I/O, no clock (`now` is passed in);
busy_feed.py loads it and feeds it.

The state is exact at `cursor`: built from a ListBusy answer read in the same snapshot as its
cursor, then advanced one change at a time. Changes are keyed by reservation id, so applying
one twice changes nothing; a change that skips a number means one was missed (`Gap`), and the
state must be rebuilt. Only time inside `covered` is known; a question outside it is not
answered here (None), and time that ended long ago is dropped (`prune`), so memory stays
bounded by the booking horizon.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.availability.slots import Busy

# Busy time kept after it ended: questions about the last days still see it (FindSlots asks
# from local midnight of the day before the first asked day: up to two days and a DST hour back).
KEEP_PAST = timedelta(days=3)


@dataclass(frozen=True)
class Interval:
    """Time one hold, appointment or block takes from a provider (buffers included)."""

    reservation_id: str
    provider_id: str
    start: datetime
    end: datetime
    hold_expires_at: datetime | None = None  # a hold stops counting then; None: it never runs out

    def counts(self, now: datetime) -> bool:
        return self.hold_expires_at is None or self.hold_expires_at > now


@dataclass(frozen=True)
class Change:
    """One change of the feed: the reservation's time after it (None: it takes no time any more)."""

    cursor: int
    reservation_id: str
    interval: Interval | None


class Gap(Exception):
    """A change was skipped: the state no longer matches the schedule."""


class _Provider:
    """One provider's intervals ordered by start (ties by id), for range questions by bisection."""

    def __init__(self) -> None:
        self.keys: list[tuple[datetime, str]] = []
        self.longest = timedelta(0)  # never shrinks: only widens the search window

    def add(self, interval: Interval) -> None:
        bisect.insort(self.keys, (interval.start, interval.reservation_id))
        self.longest = max(self.longest, interval.end - interval.start)

    def remove(self, interval: Interval) -> None:
        key = (interval.start, interval.reservation_id)
        index = bisect.bisect_left(self.keys, key)
        if index < len(self.keys) and self.keys[index] == key:
            del self.keys[index]

    def overlapping(self, start: datetime, end: datetime) -> Iterable[str]:
        """Ids of intervals starting in [start - longest, end): a superset of those overlapping."""
        index = bisect.bisect_left(self.keys, (start - self.longest, ""))
        keys = self.keys
        while index < len(keys) and keys[index][0] < end:
            yield keys[index][1]
            index += 1


class TenantBusy:
    def __init__(self, cursor: int, intervals: Iterable[Interval], covered: tuple[datetime, datetime]) -> None:
        self.cursor = cursor
        self.covered_start, self.covered_end = covered
        self._by_id: dict[str, Interval] = {}
        self._providers: dict[str, _Provider] = {}
        for interval in intervals:
            self._put(interval)

    def __len__(self) -> int:
        return len(self._by_id)

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.covered_start <= start and end <= self.covered_end

    def apply(self, change: Change) -> None:
        """Advance by one change of the feed (an old one is ignored; a skipped one raises Gap)."""
        if change.cursor <= self.cursor:
            return
        if change.cursor != self.cursor + 1:
            raise Gap(f"expected change {self.cursor + 1}, got {change.cursor}")
        self._drop(change.reservation_id)
        interval = change.interval
        if interval is not None and interval.start < self.covered_end and interval.end > self.covered_start:
            self._put(interval)
        self.cursor = change.cursor

    def busy(
        self, provider_ids: Sequence[str], start: datetime, end: datetime, now: datetime
    ) -> dict[str, list[Busy]] | None:
        """What ListBusy answers for these providers (empty: all) and [start, end) at `now`, by
        provider in start order; None when the range is not covered."""
        if not self.covers(start, end):
            return None
        found: dict[str, list[Busy]] = {}
        for provider_id in provider_ids or sorted(self._providers):
            provider = self._providers.get(provider_id)
            if provider is None:
                continue
            for reservation_id in provider.overlapping(start, end):
                interval = self._by_id[reservation_id]
                if interval.end > start and interval.counts(now):
                    found.setdefault(provider_id, []).append(Busy(interval.start, interval.end))
        return found

    def prune(self, now: datetime) -> int:
        """Forget time that ended more than KEEP_PAST ago and holds that ran out; how many went."""
        horizon = now - KEEP_PAST
        gone = [i.reservation_id for i in self._by_id.values() if i.end <= horizon or not i.counts(now)]
        for reservation_id in gone:
            self._drop(reservation_id)
        self.covered_start = max(self.covered_start, horizon)
        return len(gone)

    def _put(self, interval: Interval) -> None:
        self._by_id[interval.reservation_id] = interval
        self._providers.setdefault(interval.provider_id, _Provider()).add(interval)

    def _drop(self, reservation_id: str) -> None:
        old = self._by_id.pop(reservation_id, None)
        if old is not None:
            self._providers[old.provider_id].remove(old)
