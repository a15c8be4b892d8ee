"""What the reservation service forgets, as SQL (run by common/retention.py). No gRPC here.

Appointments and their history are never purged (SPEC §4). What goes:
- idempotency keys and the gateway's kept tool-call answers older than the window (Vapi repeats a
  tool call within minutes);
- one-time codes created, expired and verified before the window (a code lives 10 minutes and a
  verification counts for the rest of the call, so a day is plenty);
- outbox rows relayed before the window; a row not yet relayed stays, however old;
- patients' text replies (their number and first word) received before the idempotency window: kept
  only so that Twilio delivering one message twice is one reply;
- the waitlist's freed times handled (offered, or wanted by nobody) before the idempotency window;
  one still queued stays, however old.
"""

from __future__ import annotations

from common.config import RetentionConfig
from common.retention import Sweep, batched_delete

IDEMPOTENCY_KEYS = batched_delete(
    "idempotency_keys", "reservation.idempotency_keys", "tenant_id, idempotency_key", "created_at < $1"
)
# greatest() skips NULLs: an unverified code counts from its expiry, a verified one from then.
OTP_CODES = batched_delete(
    "otp_codes", "reservation.otp_codes", "tenant_id, otp_id",
    "created_at < $1 AND greatest(expires_at, verified_at) < $1",
)  # fmt: skip
TOOL_REPLIES = batched_delete(
    "tool_replies", "reservation.tool_replies", "tenant_id, reply_key", "created_at < $1"
)
PATIENT_REPLIES = batched_delete(
    "patient_replies", "reservation.patient_replies", "tenant_id, message_sid", "received_at < $1"
)
# delivered_at is NULL until relayed: such a row never matches.
OUTBOX = batched_delete("outbox", "reservation.outbox", "tenant_id, outbox_id", "delivered_at < $1")
# done_at is NULL while the offer worker has yet to handle it: such a row never matches.
FREED_SLOTS = batched_delete("freed_slots", "reservation.freed_slots", "tenant_id, freed_id", "done_at < $1")


def sweeps(retention: RetentionConfig) -> list[Sweep]:
    return [
        IDEMPOTENCY_KEYS.within(retention.idempotency_days),
        TOOL_REPLIES.within(retention.idempotency_days),
        PATIENT_REPLIES.within(retention.idempotency_days),
        FREED_SLOTS.within(retention.idempotency_days),
        OTP_CODES.within(retention.otp_days),
        OUTBOX.within(retention.outbox_days),
    ]
