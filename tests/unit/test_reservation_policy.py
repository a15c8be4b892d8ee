"""The reservation booking rules, table by table (pure: plain values and a fixed now)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from common.rules import DEFAULT_HOLD_MINUTES, MAX_HOLD_MINUTES
from services.reservation import otp, policy, text_limits
from services.reservation.policy import Refusal
from services.reservation.text_limits import SentCounts

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=1)
EARLIER = NOW - timedelta(minutes=1)


@pytest.mark.parametrize(
    ("clinic_minutes", "minutes"),
    [(0, DEFAULT_HOLD_MINUTES), (5, 5), (MAX_HOLD_MINUTES, MAX_HOLD_MINUTES), (60, MAX_HOLD_MINUTES)],
)
def test_hold_length_is_the_clinics_choice_capped(clinic_minutes: int, minutes: int) -> None:
    assert policy.hold_length(clinic_minutes) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("status", "expires_at", "live"),
    [("HELD", LATER, True), ("HELD", NOW, False), ("HELD", EARLIER, False), ("HELD", None, False),
     ("CONFIRMED", LATER, False), ("RELEASED", LATER, False)],
)  # fmt: skip
def test_a_hold_is_live_while_held_and_not_run_out(status: str, expires_at: datetime | None, live: bool) -> None:
    assert policy.hold_is_live(status, expires_at, NOW) is live


@pytest.mark.parametrize(
    ("mine", "refusal"),
    [
        ([], None),
        ([("p1", NOW)], Refusal("SLOT_ALREADY_BOOKED_BY_USER")),
        ([("p2", NOW)], Refusal("OVERLAPPING_RESERVATION")),
        ([("p1", LATER)], Refusal("OVERLAPPING_RESERVATION")),
        ([("p2", NOW), ("p1", NOW)], Refusal("OVERLAPPING_RESERVATION")),  # the first decides
    ],
)
def test_own_conflicts(mine: list[tuple[str, datetime]], refusal: Refusal | None) -> None:
    assert policy.own_conflict(mine, "p1", NOW) == refusal


@pytest.mark.parametrize(
    ("hold_call", "asking_call", "status", "expires_at", "refusal"),
    [
        ("c1", "c1", "HELD", LATER, None),
        ("c1", "", "HELD", LATER, None),  # confirmed by hold id, no call given
        ("", "c2", "HELD", LATER, None),  # a hold made outside a call
        ("c1", "c2", "HELD", LATER, Refusal("NOT_FOUND", "hold_of_another_call")),
        ("c1", "c2", "CONFIRMED", LATER, Refusal("NOT_FOUND", "hold_of_another_call")),
        ("c1", "c1", "CONFIRMED", None, Refusal("SLOT_ALREADY_BOOKED_BY_USER", "already_confirmed")),
        ("c1", "c1", "HELD", NOW, Refusal("LEASE_EXPIRED")),
        ("c1", "c1", "RELEASED", LATER, Refusal("LEASE_EXPIRED")),
        ("c1", "c1", "EXPIRED", EARLIER, Refusal("LEASE_EXPIRED")),
    ],
)
def test_whether_a_hold_can_be_confirmed(
    hold_call: str, asking_call: str, status: str, expires_at: datetime | None, refusal: Refusal | None
) -> None:
    assert policy.confirm_refusal(hold_call, asking_call, status, expires_at, NOW) == refusal


@pytest.mark.parametrize(
    ("required", "verified", "refusal"),
    [(False, False, None), (False, True, None), (True, True, None), (True, False, Refusal("OTP_REQUIRED"))],
)
def test_code_required_before_booking(required: bool, verified: bool, refusal: Refusal | None) -> None:
    assert policy.code_refusal(required, verified) == refusal


def test_a_verification_counts_for_thirty_minutes() -> None:
    assert otp.VERIFIED_FOR == timedelta(minutes=30)
    assert policy.verified_since(NOW) == NOW - timedelta(minutes=30)


@pytest.mark.parametrize(
    ("limit", "phone", "upcoming", "applies", "refusal"),
    [
        (0, "+15550001111", 9, False, None),
        (3, "", 9, False, None),
        (3, "+15550001111", 2, True, None),
        (3, "+15550001111", 3, True, Refusal("USER_OVER_BOOKING_LIMIT", limit=3)),
        (1, "+15550001111", 5, True, Refusal("USER_OVER_BOOKING_LIMIT", limit=1)),
    ],
)
def test_per_phone_appointment_limit(
    limit: int, phone: str, upcoming: int, applies: bool, refusal: Refusal | None
) -> None:
    assert policy.limit_applies(limit, phone) is applies
    if applies:
        assert policy.over_limit(limit, upcoming) == refusal


CUTOFF = 120  # minutes


@pytest.mark.parametrize(
    ("status", "starts_in", "refusal"),
    [
        ("CONFIRMED", timedelta(hours=3), None),
        ("CONFIRMED", timedelta(minutes=CUTOFF), None),  # exactly at the cut-off is allowed
        ("CONFIRMED", timedelta(minutes=CUTOFF - 1), Refusal("OUTSIDE_CANCELLATION_WINDOW")),
        ("CONFIRMED", -timedelta(hours=1), Refusal("OUTSIDE_CANCELLATION_WINDOW")),
        ("CANCELED", timedelta(hours=3), Refusal("BOOKING_ALREADY_CANCELLED")),
        ("CANCELED", timedelta(minutes=1), Refusal("BOOKING_ALREADY_CANCELLED")),
        ("COMPLETED", timedelta(hours=3), Refusal("NOT_FOUND", "not_confirmed")),
        ("NO_SHOW", timedelta(minutes=1), Refusal("NOT_FOUND", "not_confirmed")),
    ],
)
def test_whether_an_appointment_can_be_cancelled(status: str, starts_in: timedelta, refusal: Refusal | None) -> None:
    assert policy.cancel_refusal(status, NOW + starts_in, NOW, CUTOFF) == refusal


@pytest.mark.parametrize(
    ("status", "refusal"),
    [
        ("CONFIRMED", None),
        ("CANCELED", Refusal("BOOKING_ALREADY_CANCELLED")),
        ("HELD", Refusal("NOT_FOUND", "not_confirmed")),
        ("COMPLETED", Refusal("NOT_FOUND", "not_confirmed")),
    ],
)
def test_only_a_confirmed_appointment_changes(status: str, refusal: Refusal | None) -> None:
    assert policy.status_refusal(status) == refusal


@pytest.mark.parametrize(
    ("new_service", "starts_in", "refusal"),
    [
        ("cleaning", timedelta(hours=3), None),
        ("cleaning", timedelta(minutes=CUTOFF), None),
        ("filling", timedelta(hours=3), Refusal("SLOT_UNAVAILABLE", "service_mismatch")),
        ("filling", timedelta(minutes=1), Refusal("SLOT_UNAVAILABLE", "service_mismatch")),  # mismatch first
        ("cleaning", timedelta(minutes=CUTOFF - 1), Refusal("OUTSIDE_CANCELLATION_WINDOW")),
    ],
)
def test_whether_an_appointment_can_be_moved(new_service: str, starts_in: timedelta, refusal: Refusal | None) -> None:
    assert policy.move_refusal("cleaning", new_service, NOW + starts_in, NOW, CUTOFF) == refusal


@pytest.mark.parametrize(
    ("sent", "refusal"),
    [(0, None), (otp.MAX_SENDS_PER_WINDOW - 1, None), (otp.MAX_SENDS_PER_WINDOW, Refusal("OTP_SEND_LIMIT"))],
)
def test_codes_sent_per_window(sent: int, refusal: Refusal | None) -> None:
    # The per-phone limit is one of the send limits in text_limits (with the per-call and clinic ones).
    assert text_limits.send_refusal("+12125550001", "", SentCounts(sent, 0, frozenset())) == refusal
    assert policy.send_window_start(NOW) == NOW - timedelta(minutes=10)
    assert policy.code_expiry(NOW) == NOW + timedelta(minutes=10)


@pytest.mark.parametrize(
    ("verified_at", "expires_at", "attempts", "refusal"),
    [
        (None, LATER, 0, None),
        (None, LATER, otp.MAX_CHECKS - 1, None),
        (EARLIER, LATER, 0, Refusal("OTP_EXPIRED", "no_current_code")),
        (None, NOW, 0, Refusal("OTP_EXPIRED")),
        (None, EARLIER, otp.MAX_CHECKS, Refusal("OTP_EXPIRED")),  # run out is said before too many tries
        (None, LATER, otp.MAX_CHECKS, Refusal("OTP_MAX_ATTEMPTS")),
    ],
)
def test_whether_a_code_can_be_checked(
    verified_at: datetime | None, expires_at: datetime, attempts: int, refusal: Refusal | None
) -> None:
    assert policy.checkable(verified_at, expires_at, attempts, NOW) == refusal


def test_no_current_code_is_said_as_expired_with_its_reason() -> None:
    assert policy.NO_CURRENT_CODE == Refusal("OTP_EXPIRED", "no_current_code")


@pytest.mark.parametrize(
    ("right", "attempts_before", "check"),
    [
        (True, 0, policy.CodeCheck(verified=True, attempts_left=4, refusal=None)),
        (False, 0, policy.CodeCheck(verified=False, attempts_left=4, refusal=Refusal("OTP_INVALID"))),
        (False, 4, policy.CodeCheck(verified=False, attempts_left=0, refusal=Refusal("OTP_INVALID"))),
        (True, 4, policy.CodeCheck(verified=True, attempts_left=0, refusal=None)),
    ],
)
def test_what_a_code_check_answers(right: bool, attempts_before: int, check: policy.CodeCheck) -> None:
    assert policy.check_result(right, attempts_before) == check


@pytest.mark.parametrize(
    "refusal",
    [policy.SLOT_TAKEN, policy.HOLD_NOT_FOUND, policy.APPOINTMENT_NOT_FOUND, policy.SEND_FAILED],
)
def test_fixed_refusals_name_real_causes(refusal: Refusal) -> None:
    from booking.common.v1 import common_pb2

    assert common_pb2.FailureCause.Value(f"FAILURE_CAUSE_{refusal.cause}") > 0
    assert refusal.reason == "" or refusal.reason.replace("_", "").isalpha()


@pytest.mark.parametrize(
    ("status", "outcome", "starts_at", "refusal"),
    [
        ("CONFIRMED", "NO_SHOW", NOW, None),  # begun at its start exactly
        ("CONFIRMED", "COMPLETED", EARLIER, None),
        ("CONFIRMED", "NO_SHOW", LATER, Refusal("NOT_STARTED")),
        ("NO_SHOW", "NO_SHOW", EARLIER, None),  # the same outcome again: idempotent
        ("COMPLETED", "COMPLETED", LATER, None),
        ("NO_SHOW", "COMPLETED", EARLIER, Refusal("ATTENDANCE_ALREADY_MARKED", "no_show")),
        ("COMPLETED", "NO_SHOW", EARLIER, Refusal("ATTENDANCE_ALREADY_MARKED", "completed")),
        ("CANCELED", "NO_SHOW", EARLIER, Refusal("BOOKING_ALREADY_CANCELLED")),
        ("HELD", "COMPLETED", EARLIER, Refusal("NOT_FOUND", "not_confirmed")),
        ("BLOCKED", "COMPLETED", EARLIER, Refusal("NOT_FOUND", "not_confirmed")),
    ],
)
def test_attendance_is_marked_once_on_a_confirmed_appointment_that_has_begun(
    status: str, outcome: str, starts_at: datetime, refusal: Refusal | None
) -> None:
    assert policy.attendance_refusal(status, outcome, starts_at, NOW) == refusal
    if refusal is not None:
        from booking.common.v1 import common_pb2

        assert common_pb2.FailureCause.Value(f"FAILURE_CAUSE_{refusal.cause}") > 0
