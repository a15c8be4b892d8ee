"""What the console says: notices after an action, and why an action was refused (the services
answer in causes; this table words them for the front desk, in English)."""

from __future__ import annotations

from booking.common.v1 import common_pb2 as C

DONE = {
    "booked": "Booked.",
    "cancelled": "Cancelled.",
    "moved": "Moved.",
    "blocked": "Time blocked.",
    "unblocked": "Time freed.",
}
REFUSED = {
    C.FAILURE_CAUSE_SLOT_UNAVAILABLE: "That time is taken (or blocked).",
    C.FAILURE_CAUSE_OVERLAPPING_RESERVATION: "The patient already has an appointment then.",
    C.FAILURE_CAUSE_DATE_IN_PAST: "That time is in the past.",
    C.FAILURE_CAUSE_OUTSIDE_BOOKING_WINDOW: "That time is outside the booking window.",
    C.FAILURE_CAUSE_OUTSIDE_WORKING_HOURS: "That time is outside the provider's hours for this service.",
    C.FAILURE_CAUSE_NOT_FOUND: "Not found: it may have changed meanwhile.",
    C.FAILURE_CAUSE_BOOKING_ALREADY_CANCELLED: "That appointment is already cancelled.",
    C.FAILURE_CAUSE_INVALID_PHONE: "That phone number cannot be used.",
}
REFUSED_OTHERWISE = "Not done."
SIGN_IN_FAILED = "Wrong email or password."
SIGN_IN_LIMITED = "Too many attempts. Wait a few minutes and try again."
SIGN_IN_UNAVAILABLE = "Sign-in is unavailable just now. Try again shortly."


def notice(code: str) -> str:
    """The sentence for a notice code from the redirect after an action ("" when unknown)."""
    if code in DONE:
        return DONE[code]
    if code.startswith("refused:"):
        name = code.removeprefix("refused:")
        cause = C.FailureCause.Value(name) if name in C.FailureCause.keys() else C.FAILURE_CAUSE_UNSPECIFIED
        return REFUSED.get(cause, REFUSED_OTHERWISE)
    return ""
