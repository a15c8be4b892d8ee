"""Who may receive a one-time code, and how many (services/reservation/text_limits.py, common/phones.py)."""

from __future__ import annotations

import pytest

from common.phones import can_receive_sms, region_of
from services.reservation.policy import Refusal
from services.reservation.text_limits import SentCounts, booking_phone, budget_refusal, phone_refusal, send_refusal

US_MOBILE_OR_FIXED = "+12125550042"
CANADA = "+14165550100"
UK_LANDLINE = "+442071234567"
UK_MOBILE = "+447400123456"
TOLL_FREE = "+18005550100"
PREMIUM = "+19005550100"


def counts(to_phone: int = 0, in_call: int = 0, numbers: tuple[str, ...] = ()) -> SentCounts:
    return SentCounts(to_phone=to_phone, in_call=in_call, call_numbers=frozenset(numbers))


@pytest.mark.parametrize(
    ("phone", "textable"),
    [(US_MOBILE_OR_FIXED, True), (UK_MOBILE, True), (UK_LANDLINE, False), (TOLL_FREE, False), (PREMIUM, False)],
)
def test_only_numbers_that_can_take_a_text_are_textable(phone: str, textable: bool) -> None:
    assert can_receive_sms(phone) is textable


def test_region_of_a_number() -> None:
    assert (region_of(US_MOBILE_OR_FIXED), region_of(CANADA), region_of("nonsense")) == ("US", "CA", "")


def test_only_numbers_of_the_clinics_sms_regions_default_its_own_region() -> None:
    assert phone_refusal(US_MOBILE_OR_FIXED, [], "US") is None
    assert phone_refusal(CANADA, [], "US") == Refusal("INVALID_PHONE", "country_not_allowed")
    assert phone_refusal(CANADA, ["us", "CA"], "US") is None
    assert phone_refusal(UK_MOBILE, ["US"], "US") == Refusal("INVALID_PHONE", "country_not_allowed")
    assert phone_refusal(UK_LANDLINE, ["GB"], "US") == Refusal("INVALID_PHONE", "cannot_receive_sms")
    assert phone_refusal(PREMIUM, [], "US") == Refusal("INVALID_PHONE", "cannot_receive_sms")


def test_a_call_texts_at_most_three_numbers_and_five_codes() -> None:
    three = ("+12125550001", "+12125550002", "+12125550003")
    assert send_refusal("+12125550003", "c", counts(in_call=3, numbers=three)) is None
    assert send_refusal("+12125550004", "c", counts(in_call=3, numbers=three)) == Refusal(
        "OTP_SEND_LIMIT", "per_call_numbers", 3
    )
    assert send_refusal("+12125550001", "c", counts(in_call=5, numbers=three)) == Refusal(
        "OTP_SEND_LIMIT", "per_call_codes", 5
    )
    # Without a call there is no call to count.
    assert send_refusal("+12125550004", "", counts(in_call=9, numbers=three)) is None


def test_the_clinic_budget_counts_every_caller_and_zero_sends_none() -> None:
    assert budget_refusal(59, 60) is None
    assert budget_refusal(60, 60) == Refusal("OTP_SEND_LIMIT", "tenant_budget", 60)
    assert budget_refusal(0, 0) == Refusal("OTP_SEND_LIMIT", "tenant_budget", 0)


def test_five_codes_per_phone_per_window_is_the_plain_send_limit() -> None:
    assert send_refusal(US_MOBILE_OR_FIXED, "", counts(to_phone=4)) is None
    assert send_refusal(US_MOBILE_OR_FIXED, "", counts(to_phone=5)) == Refusal("OTP_SEND_LIMIT")


@pytest.mark.parametrize(
    ("hold_phone", "hold_verified", "allowed", "in_call", "booked"),
    [
        ("A", True, True, "B", "A"),  # the hold's own number was verified: it stays
        ("A", False, True, "B", "B"),  # the spoken number was verified instead: the hold follows it
        ("A", False, False, "B", "A"),  # the clinic does not let spoken numbers count
        ("A", False, True, "", "A"),  # nothing verified: the hold keeps its number (and is refused)
        ("", False, True, "B", "B"),
    ],
)
def test_the_hold_follows_the_verified_number_only_when_the_clinic_allows_it(
    hold_phone: str, hold_verified: bool, allowed: bool, in_call: str, booked: str
) -> None:
    assert booking_phone(hold_phone, hold_verified, allowed, in_call) == booked
