"""The in-memory busy time (services/availability/busy_cache.py), with no I/O: it answers what
ListBusy would (overlap, live holds only, by provider in start order), applies each change of
the feed once, refuses a skipped one, and forgets what lies in the past or outside its window."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.availability.busy_cache import KEEP_PAST, Change, Gap, Interval, TenantBusy
from services.availability.slots import Busy

T0 = datetime(2030, 1, 8, 14, 0, tzinfo=UTC)
COVERED = (T0 - timedelta(days=4), T0 + timedelta(days=30))


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def interval(rid: str, start: int, end: int, provider: str = "p1", expires: int | None = None) -> Interval:
    return Interval(rid, provider, at(start), at(end), None if expires is None else at(expires))


def state(*intervals: Interval, cursor: int = 10) -> TenantBusy:
    return TenantBusy(cursor, intervals, COVERED)


def test_answers_overlapping_time_by_provider_in_start_order_half_open() -> None:
    busy = state(interval("b", 60, 90), interval("a", 0, 30), interval("c", 0, 45, "p2"), interval("d", 200, 230))
    assert busy.busy([], at(30), at(61), T0) == {"p1": [Busy(at(60), at(90))], "p2": [Busy(at(0), at(45))]}
    assert busy.busy(["p1"], at(-10), at(1), T0) == {"p1": [Busy(at(0), at(30))]}
    assert busy.busy(["p1", "p3"], at(30), at(60), T0) == {}  # touching ends do not overlap


def test_a_long_interval_starting_well_before_the_range_is_found() -> None:
    busy = state(interval("block", -600, 600), interval("a", 700, 730))
    assert busy.busy(["p1"], at(100), at(110), T0) == {"p1": [Busy(at(-600), at(600))]}


def test_a_hold_counts_until_it_runs_out() -> None:
    busy = state(interval("h", 0, 30, expires=5))
    assert busy.busy([], at(0), at(30), at(4)) == {"p1": [Busy(at(0), at(30))]}
    assert busy.busy([], at(0), at(30), at(5)) == {}


def test_changes_apply_once_by_reservation_id_and_a_skipped_one_is_a_gap() -> None:
    busy = state(interval("a", 0, 30))
    busy.apply(Change(11, "a", interval("a", 60, 90)))  # moved
    busy.apply(Change(11, "a", interval("a", 120, 150)))  # a repeat of change 11: ignored
    busy.apply(Change(12, "b", interval("b", 0, 30, "p2")))
    assert busy.busy([], at(0), at(200), T0) == {"p1": [Busy(at(60), at(90))], "p2": [Busy(at(0), at(30))]}
    busy.apply(Change(13, "a", None))  # cancelled
    assert busy.busy(["p1"], at(0), at(200), T0) == {}
    with pytest.raises(Gap):
        busy.apply(Change(15, "c", interval("c", 0, 30)))
    assert busy.cursor == 13


def test_questions_outside_the_window_are_not_answered() -> None:
    busy = state()
    assert busy.busy([], COVERED[0] - timedelta(minutes=1), at(0), T0) is None
    assert busy.busy([], at(0), COVERED[1] + timedelta(minutes=1), T0) is None
    assert busy.busy([], *COVERED, T0) == {}


def test_time_beyond_the_window_is_not_kept_and_moving_out_of_it_frees_the_old_time() -> None:
    busy = state(interval("a", 0, 30))
    far = int((COVERED[1] - T0).total_seconds() // 60) + 60
    busy.apply(Change(11, "a", interval("a", far, far + 30)))
    assert len(busy) == 0 and busy.busy([], at(0), at(60), T0) == {}


def test_prune_forgets_ended_time_and_run_out_holds_and_narrows_the_window() -> None:
    busy = state(interval("old", -5000, -4970), interval("h", 0, 30, expires=10), interval("a", 60, 90))
    later = at(20)
    assert busy.prune(later) == 2
    assert busy.busy([], later - KEEP_PAST, at(100), later) == {"p1": [Busy(at(60), at(90))]}
    assert len(busy) == 1
    assert busy.busy([], later - KEEP_PAST - timedelta(minutes=1), at(100), later) is None


def test_random_changes_match_a_plain_recomputation() -> None:
    """Against the obvious answer (scan everything), over random holds, moves, cancels and expiries."""
    rng = random.Random(19)
    live: dict[str, Interval] = {}
    busy = state(cursor=0)
    for cursor in range(1, 2000):
        rid = f"r{rng.randrange(60)}"
        if rng.random() < 0.3:
            live.pop(rid, None)
            busy.apply(Change(cursor, rid, None))
        else:
            start = rng.randrange(0, 3000, 15)
            expires = rng.choice([None, rng.randrange(0, 600)])
            new = interval(rid, start, start + rng.choice([15, 30, 60, 480]), rng.choice(["p1", "p2", "p3"]), expires)
            live[rid] = new
            busy.apply(Change(cursor, rid, new))
        if cursor % 50 == 0:
            now, lo = at(rng.randrange(0, 600)), at(rng.randrange(-60, 3000))
            hi = lo + timedelta(minutes=rng.randrange(1, 600))
            providers = rng.choice([[], ["p1"], ["p2", "p3"]])
            expected: dict[str, list[Busy]] = {}
            for i in sorted(live.values(), key=lambda i: (i.provider_id, i.start, i.reservation_id)):
                if (not providers or i.provider_id in providers) and i.start < hi and i.end > lo and i.counts(now):
                    expected.setdefault(i.provider_id, []).append(Busy(i.start, i.end))
            assert busy.busy(providers, lo, hi, now) == expected
