-- Retention (services/reservation/retention.py): freed times already handled (offered, or nobody
-- wanted them) are purged after the idempotency window; the purge finds them by this time.
CREATE INDEX freed_slots_done ON reservation.freed_slots (done_at) WHERE done_at IS NOT NULL;
