"""Caller identity and confirmation re-sends as pure rules (services/reservation/identity.py, policy.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.reservation import identity, policy

MINE, OTHER = "+12125550142", "+12125550199"


@pytest.mark.parametrize(
    ("appointment_phone", "caller_phone", "verified", "code_required", "allowed"),
    [
        (MINE, MINE, set(), False, True),  # the caller id is the appointment's phone
        (MINE, OTHER, set(), False, False),  # a stranger's caller id
        (MINE, "", set(), False, False),  # no caller id (web call, withheld number)
        (MINE, "", {MINE}, False, True),  # a code verified for that number in this call
        (MINE, OTHER, {MINE}, False, True),  # calling from another phone, the number proven by code
        (MINE, OTHER, {OTHER}, False, False),  # a code for another number proves nothing about this one
        (MINE, MINE, set(), True, False),  # the clinic wants a code: the caller id alone is not enough
        (MINE, MINE, {MINE}, True, True),
        (MINE, OTHER, {MINE}, True, True),
        ("", "", set(), False, False),  # an appointment without a phone (or an unknown id) is nobody's
        ("", "", {""}, False, False),
    ],
)
def test_who_may_act_on_an_appointment(
    appointment_phone: str, caller_phone: str, verified: set[str], code_required: bool, allowed: bool
) -> None:
    assert identity.may_act(appointment_phone, caller_phone, verified, code_required) is allowed


def test_a_verification_counts_for_two_hours() -> None:
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    assert identity.verified_since(now) == now - timedelta(hours=2)


def test_refusals_for_a_callers_identity_name_what_must_be_proven() -> None:
    assert (identity.NOT_THE_CALLERS.cause, identity.NOT_THE_CALLERS.reason) == ("VERIFICATION_REQUIRED", "appointment")
    assert identity.PHONE_NOT_THE_CALLERS.reason == "phone"


def test_three_confirmation_resends_per_appointment_per_day() -> None:
    assert policy.resend_refusal(0) is None and policy.resend_refusal(2) is None
    assert policy.resend_refusal(3) == policy.Refusal("OTP_SEND_LIMIT", "confirmation_resends", 3)
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    assert policy.resend_window_start(now) == now - timedelta(days=1)
