-- Tenant credentials (SPEC §9). A tenant's webhook secrets are sealed under a key-encryption key
-- from the environment (common/sealing.py): a dump of this database cannot authenticate or sign a
-- webhook. Several secrets may be valid at once while one is rotated out (expires_at).
CREATE TABLE availability.tenant_secrets (
    tenant_id  text        NOT NULL REFERENCES availability.clinics (tenant_id),
    secret_id  uuid        NOT NULL DEFAULT gen_random_uuid(),
    sealed     bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- NULL while current; set when a rotation (or a new secret in the clinic file) retires it.
    expires_at timestamptz,
    PRIMARY KEY (tenant_id, secret_id)
);

-- API keys for a clinic's own systems, scoped to that clinic. Only the SHA-256 of each key is
-- kept: keys are 256 random bits, so the digest cannot be reversed or guessed.
CREATE TABLE availability.api_keys (
    tenant_id  text        NOT NULL REFERENCES availability.clinics (tenant_id),
    key_id     uuid        NOT NULL DEFAULT gen_random_uuid(),
    key_sha256 text        NOT NULL,
    shown      text        NOT NULL,
    label      text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    PRIMARY KEY (tenant_id, key_id),
    UNIQUE (tenant_id, key_sha256)
);

-- The SHA-256 of the secret was also the HMAC key: enough, on its own, to sign requests.
-- Clinics are re-loaded with their secret (make run does so for the demo clinic).
ALTER TABLE availability.clinics DROP COLUMN secret_sha256;
