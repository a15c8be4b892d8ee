"""Which SMS failures are worth retrying: the one table of Twilio outcomes.

Codes: https://www.twilio.com/docs/api/errors. A 5xx or a timeout may mean Twilio accepted the
message anyway (its API has no idempotency key), so those are "ambiguous": retried for
appointment texts (a rare duplicate beats a missing confirmation), not for one-time codes
(the caller asks for a new code instead of receiving two).
"""

from __future__ import annotations

from enum import Enum


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"  # certainly not accepted (rate limited): safe to send again
    AMBIGUOUS = "ambiguous"  # may or may not have been accepted (5xx, timeout, network)
    PERMANENT = "permanent"  # will never succeed for this message
    OPTED_OUT = "opted_out"  # the recipient replied STOP: permanent, and remember it


RETRYABLE_CODES = {20429, 30003, 30008}
OPTED_OUT_CODES = {21610}
PERMANENT_CODES = {21211, 21408, 21612, 21614, 30004, 30005, 30006, 30007}


def classify(http_status: int | None, code: int | None) -> Outcome:
    if code in OPTED_OUT_CODES:
        return Outcome.OPTED_OUT
    if code in PERMANENT_CODES:
        return Outcome.PERMANENT
    if code in RETRYABLE_CODES or http_status == 429:
        return Outcome.RETRY
    if http_status is None or http_status >= 500:
        return Outcome.AMBIGUOUS
    if 400 <= http_status < 500:
        return Outcome.PERMANENT
    return Outcome.AMBIGUOUS
