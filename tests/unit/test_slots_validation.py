"""ValidateSlot's pure rules: refusals as contract (cause, reason) pairs, and the provider chosen
when none is named (first in clinic order who works then and is not busy)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.availability import refusals
from services.availability.clinic import Clinic
from services.availability.slots import Busy, providers_free_at
from services.availability.validation import check_time, first_free, occupied
from tests.unit.clinics import WEEKDAY_HOURS, make_clinic

NY = ZoneInfo("America/New_York")
MONDAY_8AM = datetime(2026, 11, 23, 8, 0, tzinfo=NY)
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=NY)


def three_providers() -> Clinic:
    weekdays = ("mon", "tue", "wed", "thu", "fri")
    return make_clinic(
        services=[{"id": "cleaning", "name": "Cleaning", "duration_minutes": 30, "buffer_after_minutes": 10}],
        providers=[
            {"id": "a", "name": "Dr. A", "hours": {"tue": WEEKDAY_HOURS}},  # not on Mondays
            {"id": "b", "name": "Dr. B", "hours": {d: WEEKDAY_HOURS for d in weekdays}},
            {"id": "c", "name": "Dr. C", "hours": {d: WEEKDAY_HOURS for d in weekdays}},
        ],
    )


def test_refusals_are_the_contracts_cause_and_reason_pairs() -> None:
    clinic = make_clinic()
    service = clinic.services["cleaning"]
    now = MONDAY_8AM.astimezone(UTC)
    start = MONDAY_10AM.astimezone(UTC)
    assert check_time(clinic, service, "a", start, None, now) is None
    assert check_time(clinic, service, "", start, None, now) is None
    assert check_time(clinic, None, "a", start, None, now) == refusals.Refusal(
        "NOT_FOUND", "provider_does_not_offer_service"
    )
    assert check_time(clinic, service, "nobody", start, None, now) == refusals.PROVIDER_DOES_NOT_OFFER
    assert check_time(clinic, service, "a", start, 45, now) == refusals.Refusal("SLOT_UNAVAILABLE", "not_offered")
    assert check_time(clinic, service, "a", now - timedelta(hours=1), None, now) == refusals.Refusal(
        "DATE_IN_PAST", "time_in_past"
    )
    assert check_time(clinic, service, "a", start + timedelta(days=90), None, now) == refusals.Refusal(
        "OUTSIDE_BOOKING_WINDOW", "time_not_bookable"
    )


def test_a_start_at_the_end_of_the_calendar_is_beyond_the_window_not_an_error() -> None:
    clinic = make_clinic(timezone="Asia/Tokyo")  # east of UTC: the local date would overflow
    service = clinic.services["cleaning"]
    last = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    assert check_time(clinic, service, "a", last, None, MONDAY_8AM) == refusals.TIME_NOT_BOOKABLE


def test_without_a_provider_the_first_working_one_in_clinic_order_who_is_free_is_chosen() -> None:
    clinic = three_providers()
    service = clinic.services["cleaning"]
    now = MONDAY_8AM.astimezone(UTC)
    start = MONDAY_10AM.astimezone(UTC)
    working = providers_free_at(clinic, service, start, now)
    assert working == ["b", "c"]  # Dr. A does not work on Mondays
    taken = occupied(service, start)
    assert taken == (start, start + timedelta(minutes=40))
    assert first_free(working, {}, taken) == ("b", None)
    b_busy = {"b": [Busy(start + timedelta(minutes=35), start + timedelta(hours=1))]}  # inside the buffer
    assert first_free(working, b_busy, taken) == ("c", None)
    b_free_at_end = {"b": [Busy(start + timedelta(minutes=40), start + timedelta(hours=1))]}  # half-open
    assert first_free(working, b_free_at_end, taken) == ("b", None)
    both_busy = {p: [Busy(start - timedelta(minutes=30), start + timedelta(minutes=5))] for p in working}
    assert first_free(working, both_busy, taken) == ("", refusals.Refusal("SLOT_UNAVAILABLE", ""))
    lunch = datetime(2026, 11, 23, 12, 0, tzinfo=NY).astimezone(UTC)
    assert providers_free_at(clinic, service, lunch, now) == []
    assert first_free([], {}, occupied(service, lunch)) == ("", refusals.NOT_OFFERED)
