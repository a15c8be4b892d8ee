-- Availability: clinics (tenants), providers, appointment types.
-- Every key leads with tenant_id so the schema can be distributed by tenant (Citus).
CREATE SCHEMA IF NOT EXISTS availability;

CREATE TABLE availability.clinics (
    tenant_id      text        NOT NULL CHECK (tenant_id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name           text        NOT NULL,
    timezone       text        NOT NULL,
    phone          text        NOT NULL DEFAULT '',
    default_region text        NOT NULL DEFAULT 'US',
    secret_sha256  text        NOT NULL DEFAULT '',
    -- The whole validated configuration (ClinicConfig as JSON) and its hash, so an
    -- identical upsert is detected without comparing row by row.
    config         jsonb       NOT NULL,
    config_sha256  text        NOT NULL,
    version        bigint      NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id)
);

CREATE TABLE availability.providers (
    tenant_id   text        NOT NULL REFERENCES availability.clinics (tenant_id),
    provider_id text        NOT NULL,
    position    int         NOT NULL,
    active      boolean     NOT NULL DEFAULT true,
    config      jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, provider_id)
);

CREATE TABLE availability.services (
    tenant_id  text        NOT NULL REFERENCES availability.clinics (tenant_id),
    service_id text        NOT NULL,
    position   int         NOT NULL,
    active     boolean     NOT NULL DEFAULT true,
    config     jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, service_id)
);
