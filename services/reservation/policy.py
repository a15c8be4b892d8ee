"""Booking rules of the reservation service, as functions of plain values. Pure: no clock, no I/O.

A rule answers None (allowed) or a `Refusal`: the cause's name without its `FAILURE_CAUSE_` prefix,
a snake_case reason refining it (or ""), and the number it refers to (the booking limit). The
servicer turns a refusal into `common.v1.Failure`; the gateway words it. Meanings chosen:
- the cut-off: cancelling or moving is refused when the appointment starts less than
  `cutoff_minutes` from now (exactly at the cut-off is still allowed);
- a hold is live while HELD and its expiry is strictly later than now;
- a verified code lets its call book for `otp.VERIFIED_FOR` after verification;
- the per-phone limit counts confirmed appointments starting after now; 0 means no limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from common.rules import DEFAULT_HOLD_MINUTES, MAX_HOLD_MINUTES
from services.reservation import otp


@dataclass(frozen=True)
class Refusal:
    cause: str  # a FailureCause name without the FAILURE_CAUSE_ prefix, e.g. "SLOT_UNAVAILABLE"
    reason: str = ""
    limit: int = 0


SLOT_TAKEN = Refusal("SLOT_UNAVAILABLE")  # lost the race for the time to another caller
HOLD_NOT_FOUND = Refusal("NOT_FOUND", "hold_not_found")
APPOINTMENT_NOT_FOUND = Refusal("NOT_FOUND", "appointment_not_found")
SEND_FAILED = Refusal("SEND_FAILED")  # the code could not be handed to notification
# A hold never counts as an appointment.
APPOINTMENT_STATUSES = ("CONFIRMED", "CANCELED", "NO_SHOW", "COMPLETED")
ATTENDANCE_STATUSES = ("NO_SHOW", "COMPLETED")  # what MarkAttendance records


# --- holds -----------------------------------------------------------------------------------
def hold_length(clinic_hold_minutes: int) -> timedelta:
    """How long a new hold waits for confirmation: the clinic's choice, capped by the server."""
    return timedelta(minutes=min(clinic_hold_minutes or DEFAULT_HOLD_MINUTES, MAX_HOLD_MINUTES))


def hold_is_live(status: str, expires_at: datetime | None, now: datetime) -> bool:
    return status == "HELD" and expires_at is not None and expires_at > now


def own_conflict(mine: Sequence[tuple[str, datetime]], provider_id: str, starts_at: datetime) -> Refusal | None:
    """The caller's own live holds/appointments (provider, start) overlapping the new time; the first decides."""
    if not mine:
        return None
    if mine[0] == (provider_id, starts_at):
        return Refusal("SLOT_ALREADY_BOOKED_BY_USER")
    return Refusal("OVERLAPPING_RESERVATION")


def confirm_refusal(
    hold_call_id: str, asking_call_id: str, status: str, expires_at: datetime | None, now: datetime
) -> Refusal | None:
    """Whether this hold can be confirmed by this call now (codes and limits are checked after)."""
    if asking_call_id and hold_call_id and hold_call_id != asking_call_id:
        return Refusal("NOT_FOUND", "hold_of_another_call")
    if status == "CONFIRMED":
        return Refusal("SLOT_ALREADY_BOOKED_BY_USER", "already_confirmed")
    if not hold_is_live(status, expires_at, now):
        return Refusal("LEASE_EXPIRED")
    return None


def verified_since(now: datetime) -> datetime:
    """The oldest verification that still lets a call book."""
    return now - otp.VERIFIED_FOR


def code_refusal(code_required: bool, verified: bool) -> Refusal | None:
    return Refusal("OTP_REQUIRED") if code_required and not verified else None


def limit_applies(limit: int, phone: str) -> bool:
    """Whether the per-phone limit must be counted (a clinic without a limit, or no phone: no)."""
    return bool(limit) and bool(phone)


def over_limit(limit: int, upcoming: int) -> Refusal | None:
    return Refusal("USER_OVER_BOOKING_LIMIT", limit=limit) if limit and upcoming >= limit else None


# --- appointments ----------------------------------------------------------------------------
def too_close(starts_at: datetime, now: datetime, cutoff_minutes: int) -> bool:
    return starts_at - now < timedelta(minutes=cutoff_minutes)


def status_refusal(status: str) -> Refusal | None:
    """Only a confirmed appointment can be cancelled or moved."""
    if status == "CANCELED":
        return Refusal("BOOKING_ALREADY_CANCELLED")
    if status != "CONFIRMED":
        return Refusal("NOT_FOUND", "not_confirmed")
    return None


def attendance_refusal(status: str, outcome: str, starts_at: datetime, now: datetime) -> Refusal | None:
    """Whether `outcome` (NO_SHOW or COMPLETED) can be recorded now. The outcome already recorded
    is no refusal (marking twice is idempotent); the other one is. An appointment counts as begun
    at its start exactly."""
    if status == outcome:
        return None
    if status in ATTENDANCE_STATUSES:
        return Refusal("ATTENDANCE_ALREADY_MARKED", status.lower())
    refusal = status_refusal(status)
    if refusal is None and starts_at > now:
        return Refusal("NOT_STARTED")
    return refusal


def cancel_refusal(status: str, starts_at: datetime, now: datetime, cutoff_minutes: int) -> Refusal | None:
    refusal = status_refusal(status)
    if refusal is None and too_close(starts_at, now, cutoff_minutes):
        return Refusal("OUTSIDE_CANCELLATION_WINDOW")
    return refusal


def move_refusal(
    booked_service_id: str, new_service_id: str, starts_at: datetime, now: datetime, cutoff_minutes: int
) -> Refusal | None:
    """Whether a confirmed, bookable-elsewhere appointment may move to the new time."""
    if new_service_id != booked_service_id:
        return Refusal("SLOT_UNAVAILABLE", "service_mismatch")
    if too_close(starts_at, now, cutoff_minutes):
        return Refusal("OUTSIDE_CANCELLATION_WINDOW")
    return None


# --- one-time codes --------------------------------------------------------------------------
def send_window_start(now: datetime) -> datetime:
    return now - otp.SEND_WINDOW


def code_expiry(now: datetime) -> datetime:
    return now + otp.VALIDITY


@dataclass(frozen=True)
class CodeCheck:
    """What a spoken code check answers."""

    verified: bool
    attempts_left: int
    refusal: Refusal | None


NO_CURRENT_CODE = Refusal("OTP_EXPIRED", "no_current_code")  # none sent, superseded, or already used


def checkable(verified_at: datetime | None, expires_at: datetime, attempts: int, now: datetime) -> Refusal | None:
    """Whether the current code can still be checked (before comparing: these checks cost no attempt)."""
    if verified_at is not None:
        return NO_CURRENT_CODE
    if expires_at <= now:
        return Refusal("OTP_EXPIRED")
    if attempts >= otp.MAX_CHECKS:
        return Refusal("OTP_MAX_ATTEMPTS")
    return None


def check_result(right: bool, attempts_before: int) -> CodeCheck:
    """The answer to one counted check of a checkable code."""
    left = otp.MAX_CHECKS - attempts_before - 1
    return CodeCheck(verified=right, attempts_left=left, refusal=None if right else Refusal("OTP_INVALID"))


# --- confirmation texts sent again -----------------------------------------------------------
MAX_RESENDS_PER_DAY = 3  # per appointment: the texts one caller can make the clinic send
RESEND_WINDOW = timedelta(days=1)
NO_PHONE = Refusal("INVALID_PHONE", "no_phone")


def resend_window_start(now: datetime) -> datetime:
    return now - RESEND_WINDOW


def resend_refusal(resent_in_window: int) -> Refusal | None:
    """Too many re-sends is refused like too many codes: the same abuse (texts on demand)."""
    if resent_in_window >= MAX_RESENDS_PER_DAY:
        return Refusal("OTP_SEND_LIMIT", "confirmation_resends", MAX_RESENDS_PER_DAY)
    return None
