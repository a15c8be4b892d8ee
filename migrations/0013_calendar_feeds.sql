-- The clinic's data (SPEC §10): which API keys may see patient phones, and the tokens that open
-- the providers' calendar feeds. Attendance (NO_SHOW, COMPLETED) needs no schema change: the
-- statuses exist since 0002 and the history trigger of 0010 records them.

-- A key issued before this migration keeps seeing what it saw: nothing masked would be a surprise
-- the other way, so existing keys are kept as they were (false = masked is the default for new ones).
ALTER TABLE availability.api_keys ADD COLUMN patient_phones boolean NOT NULL DEFAULT false;
UPDATE availability.api_keys SET patient_phones = true;

-- Feed tokens: 256 random bits each, so only their SHA-256 is kept (nothing to brute-force).
CREATE TABLE availability.feed_tokens (
    tenant_id    text        NOT NULL REFERENCES availability.clinics (tenant_id),
    token_id     uuid        NOT NULL DEFAULT gen_random_uuid(),
    provider_id  text        NOT NULL,
    token_sha256 text        NOT NULL,
    shown        text        NOT NULL,
    label        text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    PRIMARY KEY (tenant_id, token_id),
    UNIQUE (tenant_id, token_sha256)
);

CREATE INDEX feed_tokens_by_provider ON availability.feed_tokens (tenant_id, provider_id);
