-- Reservation: holds and appointments (one table, so one exclusion constraint guards
-- both), their history, one-time codes, idempotency records and the outbox.
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE SCHEMA IF NOT EXISTS reservation;

CREATE TABLE reservation.reservations (
    tenant_id       text        NOT NULL,
    reservation_id  uuid        NOT NULL DEFAULT gen_random_uuid(),
    provider_id     text        NOT NULL,
    service_id      text        NOT NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    -- What the provider cannot do anything else in: the slot plus buffers.
    occupied        tstzrange   NOT NULL,
    timezone        text        NOT NULL,
    status          text        NOT NULL CHECK (status IN
                    ('HELD', 'EXPIRED', 'RELEASED', 'CONFIRMED', 'CANCELED', 'NO_SHOW', 'COMPLETED')),
    call_id         text        NOT NULL DEFAULT '',
    patient_name    text        NOT NULL DEFAULT '',
    patient_phone   text        NOT NULL DEFAULT '',
    hold_expires_at timestamptz,
    confirmed_at    timestamptz,
    canceled_at     timestamptz,
    cancel_reason   text        NOT NULL DEFAULT '',
    -- Spoken names etc. captured at booking time, for speech and SMS.
    details         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, reservation_id),
    CHECK (ends_at > starts_at),
    CHECK (lower(occupied) <= starts_at AND upper(occupied) >= ends_at),
    CHECK (status <> 'HELD' OR hold_expires_at IS NOT NULL),
    -- No double booking, enforced by PostgreSQL: active holds and appointments of one
    -- provider never overlap. A stale HELD row is expired in the same transaction
    -- that needs its time, so the constraint stays the only arbiter.
    CONSTRAINT reservations_no_overlap EXCLUDE USING gist
        (tenant_id WITH =, provider_id WITH =, occupied WITH &&)
        WHERE (status IN ('HELD', 'CONFIRMED'))
);

-- One live hold per call.
CREATE UNIQUE INDEX reservations_one_hold_per_call
    ON reservation.reservations (tenant_id, call_id)
    WHERE status = 'HELD' AND call_id <> '';
CREATE INDEX reservations_by_phone
    ON reservation.reservations (tenant_id, patient_phone, starts_at);
CREATE INDEX reservations_held_expiry
    ON reservation.reservations (hold_expires_at) WHERE status = 'HELD';

-- History: every status or time change, written by trigger so no code path forgets it.
CREATE TABLE reservation.reservation_events (
    tenant_id      text        NOT NULL,
    reservation_id uuid        NOT NULL,
    event_id       bigint      GENERATED ALWAYS AS IDENTITY,
    at             timestamptz NOT NULL DEFAULT now(),
    from_status    text,
    to_status      text        NOT NULL,
    provider_id    text        NOT NULL,
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, reservation_id, event_id),
    FOREIGN KEY (tenant_id, reservation_id) REFERENCES reservation.reservations (tenant_id, reservation_id)
);

CREATE FUNCTION reservation.record_reservation_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT'
       OR NEW.status IS DISTINCT FROM OLD.status
       OR NEW.starts_at IS DISTINCT FROM OLD.starts_at
       OR NEW.provider_id IS DISTINCT FROM OLD.provider_id THEN
        INSERT INTO reservation.reservation_events
            (tenant_id, reservation_id, from_status, to_status, provider_id, starts_at, ends_at)
        VALUES (NEW.tenant_id, NEW.reservation_id,
                CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
                NEW.status, NEW.provider_id, NEW.starts_at, NEW.ends_at);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER reservations_history
    AFTER INSERT OR UPDATE ON reservation.reservations
    FOR EACH ROW EXECUTE FUNCTION reservation.record_reservation_event();

-- Nothing is ever deleted: holds and appointments keep their history.
CREATE FUNCTION reservation.refuse_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'reservations are never deleted; change their status instead';
END;
$$;

CREATE TRIGGER reservations_no_delete
    BEFORE DELETE ON reservation.reservations
    FOR EACH ROW EXECUTE FUNCTION reservation.refuse_delete();

-- One-time codes: stored as a salted hash, never in clear.
CREATE TABLE reservation.otp_codes (
    tenant_id   text        NOT NULL,
    otp_id      uuid        NOT NULL DEFAULT gen_random_uuid(),
    phone       text        NOT NULL,
    call_id     text        NOT NULL DEFAULT '',
    code_hash   bytea       NOT NULL,
    salt        bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    attempts    int         NOT NULL DEFAULT 0,
    verified_at timestamptz,
    -- A newer code for the same phone and call replaces this one.
    superseded  boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, otp_id)
);
CREATE INDEX otp_codes_by_phone ON reservation.otp_codes (tenant_id, phone, created_at);

-- The first response to each idempotency key (tenant + Vapi toolCallId).
CREATE TABLE reservation.idempotency_keys (
    tenant_id       text        NOT NULL,
    idempotency_key text        NOT NULL,
    method          text        NOT NULL,
    response        bytea       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idempotency_key)
);

-- Transactional outbox: SMS requests recorded with the change that causes them and
-- relayed to the notification service until acknowledged (common/outbox.py).
CREATE TABLE reservation.outbox (
    tenant_id     text        NOT NULL,
    outbox_id     bigint      GENERATED ALWAYS AS IDENTITY,
    dedupe_key    text        NOT NULL,
    topic         text        NOT NULL,
    payload       bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    available_at  timestamptz NOT NULL DEFAULT now(),
    attempts      int         NOT NULL DEFAULT 0,
    claimed_until timestamptz,
    delivered_at  timestamptz,
    last_error    text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, outbox_id),
    UNIQUE (tenant_id, dedupe_key)
);
CREATE INDEX outbox_due ON reservation.outbox (available_at) WHERE delivered_at IS NULL;
