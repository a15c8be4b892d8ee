"""Caller identity: who may hear or change an appointment on a call (SPEC §3). Pure: no clock, no I/O.

A caller may hear, cancel, move or have texts re-sent for an appointment only when its phone is
the call's caller id or a number verified by a one-time code earlier in the same call. Meanings
chosen:
- a code verified in the call counts for `VERIFIED_FOR` (2 hours) after it was checked: the rest
  of any real call, and not a day-old call id replayed;
- with the clinic's `verify_changes_by_code`, the caller id alone is not enough: only a code
  verified in the call counts;
- an appointment without a phone belongs to no caller (only the clinic's own systems act on it);
- an unknown appointment id is refused exactly like another patient's (`NOT_THE_CALLERS`), so a
  caller cannot learn which ids exist;
- a request without a caller comes from the clinic's own systems and is not checked here.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from services.reservation.policy import Refusal

VERIFIED_FOR = timedelta(hours=2)
# What the asker must prove is theirs: the appointment (its phone on file), or the phone asked about.
NOT_THE_CALLERS = Refusal("VERIFICATION_REQUIRED", "appointment")
PHONE_NOT_THE_CALLERS = Refusal("VERIFICATION_REQUIRED", "phone")


def may_act(appointment_phone: str, caller_phone: str, verified_phones: Collection[str], code_required: bool) -> bool:
    """Whether a caller may hear or change what belongs to `appointment_phone`."""
    if not appointment_phone:
        return False
    if appointment_phone in verified_phones:
        return True
    return not code_required and appointment_phone == caller_phone


def verified_since(now: datetime) -> datetime:
    """The oldest code verification that still shows a phone is the caller's."""
    return now - VERIFIED_FOR
