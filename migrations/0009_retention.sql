-- Retention (common/retention.py): the purge finds expired rows by these times without a
-- full scan of tables that grow with every call.
CREATE INDEX idempotency_keys_by_age ON reservation.idempotency_keys (created_at);
CREATE INDEX otp_codes_by_age ON reservation.otp_codes (created_at);
CREATE INDEX outbox_delivered ON reservation.outbox (delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX messages_finished ON notification.messages (updated_at) WHERE status <> 'QUEUED';
