"""When reminders are due (services/reservation/reminders.py) and how a clinic configures them
(services/availability/reminder_rules.py, through the clinic file). Pure: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.availability.clinic import ClinicConfigError, build_clinic
from services.availability.clinic_file import parse_clinic
from services.notification.templates import render, segments
from services.reservation import reminders
from services.reservation.reminders import QuietHours, decide, due_at, in_quiet_hours
from tests.functional.booking import CLINIC

NY = ZoneInfo("America/New_York")
QUIET = QuietHours.parse("21:00", "08:00")


def ny(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A New York wall time as a UTC instant (as the database hands them out)."""
    return datetime(year, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


def test_both_offsets_outside_quiet_hours_are_due_exactly_then() -> None:
    start = ny(2030, 1, 8, 10, 0)
    assert due_at(start, 1440, NY, QUIET) == ny(2030, 1, 7, 10, 0)
    assert due_at(start, 120, NY, QUIET) == ny(2030, 1, 8, 8, 0)  # 08:00 is the end: not quiet any more


@pytest.mark.parametrize(
    ("start", "offset", "due"),
    [
        (ny(2030, 1, 8, 9, 0), 120, ny(2030, 1, 7, 20, 59)),  # 07:00 is quiet: the evening before
        (ny(2030, 1, 8, 23, 30), 60, ny(2030, 1, 8, 20, 59)),  # 22:30 is quiet: the same evening
        (ny(2030, 1, 8, 21, 0), 0 + 1, ny(2030, 1, 8, 20, 59)),  # 20:59 exactly is the last minute before
        (ny(2030, 1, 9, 8, 0), 60 * 11, ny(2030, 1, 8, 20, 59)),  # 21:00 is quiet (the start counts)
    ],
)
def test_a_reminder_due_in_quiet_hours_is_sent_in_the_last_minute_before_them(
    start: datetime, offset: int, due: datetime
) -> None:
    assert due_at(start, offset, NY, QUIET) == due


def test_no_quiet_hours_when_start_equals_end() -> None:
    none = QuietHours.parse("00:00", "00:00")
    assert due_at(ny(2030, 1, 8, 9, 0), 360, NY, none) == ny(2030, 1, 8, 3, 0)


def test_spring_forward_day_offsets_are_elapsed_hours_and_quiet_hours_are_wall_times() -> None:
    # 2030-03-10: New York skips 02:00-03:00. An appointment that Sunday at 09:00 EDT (13:00 UTC).
    start = ny(2030, 3, 10, 9, 0)
    assert start.astimezone(NY).utcoffset() == timedelta(hours=-4)
    day_before = due_at(start, 1440, NY, QUIET)
    assert start - day_before == timedelta(hours=24)
    assert day_before.astimezone(NY).hour == 8  # 08:00 EST: a wall hour earlier, and just out of quiet hours
    two_hours = due_at(start, 120, NY, QUIET)  # 07:00 EDT is quiet: 20:59 EST the evening before
    assert two_hours.astimezone(UTC) == datetime(2030, 3, 10, 1, 59, tzinfo=UTC)
    assert two_hours.astimezone(NY).replace(tzinfo=None) == datetime(2030, 3, 9, 20, 59)


def test_fall_back_day_quiet_hours_end_at_the_wall_time() -> None:
    # 2030-11-03: 01:00-02:00 happens twice. Quiet hours still end at 08:00 EST.
    assert in_quiet_hours(ny(2030, 11, 3, 7, 59), NY, QUIET)
    assert not in_quiet_hours(ny(2030, 11, 3, 8, 0), NY, QUIET)
    start = ny(2030, 11, 3, 9, 0)
    assert start - due_at(start, 1440, NY, QUIET) == timedelta(hours=24)
    assert due_at(start, 1440, NY, QUIET).astimezone(NY).hour == 10  # 10:00 EDT the day before


@given(
    start=st.datetimes(min_value=datetime(2029, 1, 1), max_value=datetime(2031, 12, 31)),
    offset=st.integers(5, 14 * 24 * 60),
    quiet=st.tuples(st.integers(0, 1439), st.integers(0, 1439)),
)
def test_a_reminder_is_never_due_in_quiet_hours_nor_later_than_asked(
    start: datetime, offset: int, quiet: tuple[int, int]
) -> None:
    hours = QuietHours(*quiet)
    when = start.replace(tzinfo=NY).astimezone(UTC)
    due = due_at(when, offset, NY, hours)
    assert due <= when - timedelta(minutes=offset)
    assert not in_quiet_hours(due, NY, hours)
    assert when - timedelta(minutes=offset) - due < timedelta(hours=25)  # never more than a night earlier


def test_what_the_worker_does_with_a_due_reminder() -> None:
    start, scheduled = ny(2030, 1, 8, 10, 0), ny(2030, 1, 7, 6, 0)
    assert decide(ny(2030, 1, 7, 10, 0), scheduled, start, ny(2030, 1, 7, 10, 0), NY, QUIET).send
    late = decide(ny(2030, 1, 7, 10, 0), ny(2030, 1, 7, 11, 0), start, ny(2030, 1, 7, 11, 0), NY, QUIET)
    assert not late.send and late.skip_reason == reminders.BOOKED_LATE
    # Workers down all night: due at 20:59, claimed at 23:00 -> waits for the end of quiet hours.
    night = decide(ny(2030, 1, 7, 20, 59), scheduled, start, ny(2030, 1, 7, 23, 0), NY, QUIET)
    assert not night.send and night.later == ny(2030, 1, 8, 8, 0)
    early = decide(ny(2030, 1, 7, 20, 59), scheduled, ny(2030, 1, 8, 7, 30), ny(2030, 1, 7, 23, 0), NY, QUIET)
    assert early.skip_reason == reminders.STARTED  # quiet hours last past the start: too late
    gone = decide(ny(2030, 1, 8, 8, 0), scheduled, start, ny(2030, 1, 8, 10, 0), NY, QUIET)
    assert gone.skip_reason == reminders.STARTED


# --- the clinic file ------------------------------------------------------------------------
def clinic_with(rules: dict[str, Any], services: list[dict[str, Any]] | None = None) -> Any:
    config = {**CLINIC, "rules": {**CLINIC["rules"], **rules}}  # type: ignore[dict-item]
    if services is not None:
        config["services"] = services
    return build_clinic(parse_clinic(config, {}))


def test_defaults_are_24_and_2_hours_with_quiet_hours_21_to_8() -> None:
    rules = clinic_with({}).rules.to_proto().reminders
    assert list(rules.offsets_minutes) == [1440, 120] and (rules.quiet_start, rules.quiet_end) == ("21:00", "08:00")
    assert rules.enabled


def test_a_clinic_sets_its_own_and_a_service_inherits_or_overrides_them() -> None:
    services = [
        {"id": "s30", "name": "Short", "duration_minutes": 30},
        {"id": "s60", "name": "Long", "duration_minutes": 60, "rules": {"reminders": {"enabled": False}}},
    ]
    clinic = clinic_with({"reminders": {"before_minutes": [2880, 60], "quiet_hours": "22:00-07:30"}}, services)
    own = clinic.rules.to_proto().reminders
    assert list(own.offsets_minutes) == [2880, 60] and (own.quiet_start, own.quiet_end) == ("22:00", "07:30")
    assert clinic.services["s30"].rules.to_proto().reminders == own
    off = clinic.services["s60"].rules.to_proto().reminders
    assert list(off.offsets_minutes) == [] and not off.enabled


@pytest.mark.parametrize(
    ("reminders_", "error"),
    [
        ({"before_minutes": [1]}, "rules.reminders.before_minutes[0]: 1 is outside 5..20160"),
        ({"before_minutes": [60, 60]}, "rules.reminders.before_minutes: lists the same time twice"),
        ({"before_minutes": [10, 20, 30, 40, 50, 60]}, "rules.reminders.before_minutes: at most 5 reminders"),
        ({"quiet_hours": "25:00-07:00"}, "rules.reminders.quiet_hours: start '25:00' is not a time (HH:MM)"),
        ({"quiet_hours": "late"}, "rules.reminders.quiet_hours[0]: 'late' must look like 09:00-17:00"),
        ({"enabled": "no"}, "rules.reminders.enabled: must be true or false"),
        ({"when": "always"}, "rules.reminders.when: unknown key"),
    ],
)
def test_a_bad_reminder_setting_is_refused_with_its_path(reminders_: dict[str, Any], error: str) -> None:
    with pytest.raises(ClinicConfigError) as raised:
        clinic_with({"reminders": reminders_})
    assert error in raised.value.errors


@pytest.mark.parametrize("language", ["en", "es"])
def test_reminder_and_reply_texts_name_the_reply_words_and_stay_short(language: str) -> None:
    start = ny(2030, 1, 8, 10, 0)
    texts = {
        kind: render(
            kind,
            "Acme Dental",
            service="a dental cleaning",
            provider="Doctor Lee",
            start=start,
            timezone="America/New_York",
            language=language,
        )
        for kind in ("REMINDER", "REPLY_HELP", "CANCEL_REFUSED", "ATTENDANCE_CONFIRMED")
    }
    yes, cancel = ("Y to confirm", "C to cancel") if language == "en" else ("SI confirma", "C anula")
    for kind in ("REMINDER", "REPLY_HELP"):
        assert yes in texts[kind] and cancel in texts[kind] and "STOP" in texts[kind]
    for kind, text in texts.items():
        # Spanish is longer (and its STOP line too): a long service or provider name may take two.
        assert segments(text).count <= (1 if language == "en" else 2), (kind, text)
        assert ("10:00 AM" if language == "en" else "10:00 a.m.") in text, kind
