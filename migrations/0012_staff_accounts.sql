-- Staff accounts for a clinic's console (gateway/console/), one set per tenant, created with
-- `booking staff add`. Only an argon2id hash of each password is kept (argon2-cffi's encoded
-- form, which carries its own salt and parameters). Removing an account deletes its row: the
-- gateway checks that the account still exists before it serves a signed-in page.
CREATE TABLE availability.staff_accounts (
    tenant_id     text        NOT NULL REFERENCES availability.clinics (tenant_id),
    email         text        NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, email)
);
