-- Patients' text replies, kept by notification until reservation has them (services/notification/replies.py).
-- Twilio does not retry an inbound webhook, so a reply is recorded here, in the transaction that
-- handles the inbound text (its opt-out change included), and relayed to HandlePatientReply by
-- the shared outbox relay (common/outbox.py) until acknowledged; reservation makes a second
-- delivery of one MessageSid one reply. Same shape as reservation.outbox.
CREATE TABLE notification.outbox (
    tenant_id     text        NOT NULL,
    outbox_id     bigint      GENERATED ALWAYS AS IDENTITY,
    dedupe_key    text        NOT NULL,
    topic         text        NOT NULL,
    payload       bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    available_at  timestamptz NOT NULL DEFAULT now(),
    attempts      int         NOT NULL DEFAULT 0,
    claimed_until timestamptz,
    claimed_by    text        NOT NULL DEFAULT '',
    delivered_at  timestamptz,
    last_error    text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, outbox_id),
    UNIQUE (tenant_id, dedupe_key)
);
CREATE INDEX outbox_due ON notification.outbox (available_at) WHERE delivered_at IS NULL;
-- Retention: relayed rows (a patient's number and words) go after the outbox window.
CREATE INDEX outbox_delivered ON notification.outbox (delivered_at) WHERE delivered_at IS NOT NULL;
