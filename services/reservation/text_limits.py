"""Who may receive a one-time code, and how many: the abuse limits of SendOtp (SMS pumping), as
functions of plain values. Pure: no clock, no I/O. Counts come from the SendOtp transaction,
which holds the call's and the phone's advisory locks while it counts, then the clinic's while
it counts the clinic's codes and writes the new one (the budget is enforced there, in the same
round trip; `budget_refusal` words it).

- a phone receives at most `otp.MAX_SENDS_PER_WINDOW` codes per `otp.SEND_WINDOW` (reason "");
- a call texts at most MAX_NUMBERS_PER_CALL distinct numbers and MAX_CODES_PER_CALL codes;
- a clinic texts at most `max_codes_per_hour` codes per hour, all callers together (0 = none);
- only numbers of the clinic's SMS regions (default: its default_region) that can receive texts.
A code whose hand-off to notification failed was never texted and counts for no limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from common.phones import can_receive_sms, region_of
from services.reservation import otp
from services.reservation.policy import Refusal

MAX_NUMBERS_PER_CALL = 3
MAX_CODES_PER_CALL = 5
BUDGET_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class SentCounts:
    """What was already texted, counted under the send locks."""

    to_phone: int  # to this phone in the last otp.SEND_WINDOW
    in_call: int  # in this call
    call_numbers: frozenset[str]  # distinct numbers texted in this call


def phone_refusal(phone: str, sms_regions: list[str], default_region: str) -> Refusal | None:
    """Whether this E.164 number may receive a code from this clinic."""
    allowed = {r.upper() for r in sms_regions} or {default_region.upper()}
    if region_of(phone) not in allowed:
        return Refusal("INVALID_PHONE", "country_not_allowed")
    if not can_receive_sms(phone):
        return Refusal("INVALID_PHONE", "cannot_receive_sms")
    return None


def budget_window_start(now: datetime) -> datetime:
    return now - BUDGET_WINDOW


def send_refusal(phone: str, call_id: str, counts: SentCounts) -> Refusal | None:
    """Whether one more code may be texted to `phone` in `call_id` now, as far as the call's and
    the phone's limits go (the clinic's budget is checked after them, see `budget_refusal`)."""
    if call_id and phone not in counts.call_numbers and len(counts.call_numbers) >= MAX_NUMBERS_PER_CALL:
        return Refusal("OTP_SEND_LIMIT", "per_call_numbers", limit=MAX_NUMBERS_PER_CALL)
    if call_id and counts.in_call >= MAX_CODES_PER_CALL:
        return Refusal("OTP_SEND_LIMIT", "per_call_codes", limit=MAX_CODES_PER_CALL)
    if counts.to_phone >= otp.MAX_SENDS_PER_WINDOW:
        return Refusal("OTP_SEND_LIMIT")
    return None


def budget_refusal(spent: int, hourly_budget: int) -> Refusal | None:
    """Whether the clinic's codes of the last BUDGET_WINDOW leave room for one more (0 = none)."""
    if spent >= hourly_budget:
        return Refusal("OTP_SEND_LIMIT", "tenant_budget", limit=hourly_budget)
    return None


def booking_phone(hold_phone: str, hold_verified: bool, spoken_allowed: bool, verified_in_call: str) -> str:
    """The number a confirmed appointment is booked under: the hold's, unless the clinic lets a
    spoken number receive codes and only another number was verified in this call (the code went
    to the spoken number, so that is the number the caller proved to hold)."""
    if hold_verified or not spoken_allowed or not verified_in_call:
        return hold_phone
    return verified_in_call
