"""What the notification service forgets, as SQL (run by common/retention.py). No gRPC here.

Only finished messages (anything but QUEUED: a queued or sending message is still needed), by the
time of their last status change:
- after the body window their text is emptied and the number masked like common.logs.mask_phone
  (last two digits), keeping the row (status, kind, dedupe key, times) for audit;
- after the message window the row and its send attempts go.
Patients' replies relayed to reservation (notification.outbox: a number and its words) go after
the outbox window; one not yet relayed stays, however old.
"""

from __future__ import annotations

from common.config import RetentionConfig
from common.retention import Sweep, batched_delete

FINISHED = "status <> 'QUEUED' AND updated_at < $1"
# Not yet emptied: a body left, or a number still in E.164 (masked ones start with '*').
NOT_EMPTIED = "(body <> '' OR to_phone LIKE '+%')"
MASKED = "repeat('*', greatest(length(digits) - 2, 0)) || right(digits, 2)"

MESSAGE_BODIES = Sweep(
    purge=f"""
        WITH gone AS (
            UPDATE notification.messages m SET body = '', to_phone = masked.to_phone
            FROM (
                SELECT tenant_id, message_id, {MASKED} AS to_phone
                FROM (
                    SELECT tenant_id, message_id, regexp_replace(to_phone, '[^0-9]', '', 'g') AS digits
                    FROM notification.messages WHERE {FINISHED} AND {NOT_EMPTIED}
                    LIMIT $2 FOR UPDATE SKIP LOCKED
                ) due
            ) masked
            WHERE m.tenant_id = masked.tenant_id AND m.message_id = masked.message_id
            RETURNING 1)
        SELECT count(*) AS message_bodies FROM gone
    """,  # noqa: S608 - fragments are ours, values are parameters
    count=f"SELECT count(*) AS message_bodies FROM notification.messages WHERE {FINISHED} AND {NOT_EMPTIED}",  # noqa: S608
    days=0,
)

# Attempts and their message in one statement: the foreign key is checked at its end.
MESSAGES = Sweep(
    purge=f"""
        WITH due AS (
            SELECT tenant_id, message_id FROM notification.messages WHERE {FINISHED}
            LIMIT $2 FOR UPDATE SKIP LOCKED
        ), attempts AS (
            DELETE FROM notification.message_attempts a USING due
            WHERE a.tenant_id = due.tenant_id AND a.message_id = due.message_id
            RETURNING 1
        ), gone AS (
            DELETE FROM notification.messages m USING due
            WHERE m.tenant_id = due.tenant_id AND m.message_id = due.message_id
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM gone) AS messages, (SELECT count(*) FROM attempts) AS message_attempts
    """,  # noqa: S608
    count=f"""
        SELECT count(*) AS messages, coalesce(sum(
            (SELECT count(*) FROM notification.message_attempts a
             WHERE a.tenant_id = m.tenant_id AND a.message_id = m.message_id)), 0) AS message_attempts
        FROM notification.messages m WHERE {FINISHED}
    """,  # noqa: S608
    days=0,
)


# delivered_at is NULL until relayed: such a row never matches.
REPLY_OUTBOX = batched_delete("reply_outbox", "notification.outbox", "tenant_id, outbox_id", "delivered_at < $1")


def sweeps(retention: RetentionConfig) -> list[Sweep]:
    # Bodies first: a row old enough for both is counted in both, by the dry run as by the purge.
    return [
        MESSAGE_BODIES.within(retention.message_body_days),
        MESSAGES.within(retention.message_days),
        REPLY_OUTBOX.within(retention.outbox_days),
    ]
