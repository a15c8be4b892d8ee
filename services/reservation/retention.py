"""What the reservation service forgets, as SQL (run by common/retention.py). No gRPC here.

Appointments and their history are never purged (SPEC §4). What goes:
- idempotency keys older than the window (Vapi repeats a tool call within minutes);
- one-time codes created, expired and verified before the window (a code lives 10 minutes and a
  verification counts for the rest of the call, so a day is plenty);
- outbox rows relayed before the window; a row not yet relayed stays, however old.
"""

from __future__ import annotations

from common.config import RetentionConfig
from common.retention import Sweep

IDEMPOTENCY_KEYS = Sweep(
    purge="""
        WITH gone AS (
            DELETE FROM reservation.idempotency_keys WHERE (tenant_id, idempotency_key) IN (
                SELECT tenant_id, idempotency_key FROM reservation.idempotency_keys
                WHERE created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
            RETURNING 1)
        SELECT count(*) AS idempotency_keys FROM gone
    """,
    count="SELECT count(*) AS idempotency_keys FROM reservation.idempotency_keys WHERE created_at < $1",
    days=0,
)

# greatest() skips NULLs: an unverified code counts from its expiry.
OTP_CODES = Sweep(
    purge="""
        WITH gone AS (
            DELETE FROM reservation.otp_codes WHERE (tenant_id, otp_id) IN (
                SELECT tenant_id, otp_id FROM reservation.otp_codes
                WHERE created_at < $1 AND greatest(expires_at, verified_at) < $1
                LIMIT $2 FOR UPDATE SKIP LOCKED)
            RETURNING 1)
        SELECT count(*) AS otp_codes FROM gone
    """,
    count="""
        SELECT count(*) AS otp_codes FROM reservation.otp_codes
        WHERE created_at < $1 AND greatest(expires_at, verified_at) < $1
    """,
    days=0,
)

OUTBOX = Sweep(
    purge="""
        WITH gone AS (
            DELETE FROM reservation.outbox WHERE (tenant_id, outbox_id) IN (
                SELECT tenant_id, outbox_id FROM reservation.outbox
                WHERE delivered_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
            RETURNING 1)
        SELECT count(*) AS outbox FROM gone
    """,
    count="SELECT count(*) AS outbox FROM reservation.outbox WHERE delivered_at < $1",
    days=0,
)


def sweeps(retention: RetentionConfig) -> list[Sweep]:
    return [
        IDEMPOTENCY_KEYS.within(retention.idempotency_days),
        OTP_CODES.within(retention.otp_days),
        OUTBOX.within(retention.outbox_days),
    ]
