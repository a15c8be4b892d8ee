"""Every way availability says no, as the failure contract's (cause, reason) pairs.

Pure: causes are FailureCause names without their prefix; the servicer turns them into
`common.v1.Failure` and the gateway's speech layer words them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    cause: str  # a FailureCause name without "FAILURE_CAUSE_"
    reason: str = ""  # snake_case detail of the cause, or ""


# FindSlots: the asked-for days.
DATE_IN_PAST = Refusal("DATE_IN_PAST")
OUTSIDE_BOOKING_WINDOW = Refusal("OUTSIDE_BOOKING_WINDOW")
# ValidateSlot: one start time.
TIME_IN_PAST = Refusal("DATE_IN_PAST", "time_in_past")
TIME_NOT_BOOKABLE = Refusal("OUTSIDE_BOOKING_WINDOW", "time_not_bookable")
NOT_A_SLOT_TIME = Refusal("OUTSIDE_WORKING_HOURS")
NOT_OFFERED = Refusal("SLOT_UNAVAILABLE", "not_offered")
EVERYONE_BUSY = Refusal("SLOT_UNAVAILABLE")
PROVIDER_DOES_NOT_OFFER = Refusal("NOT_FOUND", "provider_does_not_offer_service")
