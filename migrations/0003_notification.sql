-- Notification: the SMS outbox, each send attempt, and per-clinic opt-outs.
CREATE SCHEMA IF NOT EXISTS notification;

CREATE TABLE notification.messages (
    tenant_id       text        NOT NULL,
    message_id      uuid        NOT NULL DEFAULT gen_random_uuid(),
    dedupe_key      text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN
                    ('OTP', 'CONFIRMATION', 'CANCELLATION', 'REMINDER', 'RESCHEDULE', 'OTHER')),
    to_phone        text        NOT NULL,
    body            text        NOT NULL,
    segments        int         NOT NULL DEFAULT 1,
    status          text        NOT NULL CHECK (status IN
                    ('QUEUED', 'SENT', 'DELIVERED', 'UNDELIVERED', 'FAILED', 'SUPPRESSED')),
    attempts        int         NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A worker's claim: until this time no other worker takes the row.
    claimed_until   timestamptz,
    claimed_by      text        NOT NULL DEFAULT '',
    provider_sid    text        NOT NULL DEFAULT '',
    error_code      text        NOT NULL DEFAULT '',
    error_message   text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    PRIMARY KEY (tenant_id, message_id),
    UNIQUE (tenant_id, dedupe_key)
);
CREATE INDEX messages_due ON notification.messages (next_attempt_at) WHERE status = 'QUEUED';
CREATE INDEX messages_by_sid ON notification.messages (provider_sid) WHERE provider_sid <> '';
CREATE INDEX messages_by_phone ON notification.messages (tenant_id, to_phone, created_at);

CREATE TABLE notification.message_attempts (
    tenant_id     text        NOT NULL,
    message_id    uuid        NOT NULL,
    attempt       int         NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    outcome       text        NOT NULL,
    http_status   int,
    error_code    text        NOT NULL DEFAULT '',
    error_message text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, message_id, attempt),
    FOREIGN KEY (tenant_id, message_id) REFERENCES notification.messages (tenant_id, message_id)
);

CREATE TABLE notification.opt_outs (
    tenant_id  text        NOT NULL,
    phone      text        NOT NULL,
    opted_out  boolean     NOT NULL,
    source     text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, phone)
);
