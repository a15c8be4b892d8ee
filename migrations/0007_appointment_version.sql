-- Every change to a reservation bumps its version, so a text about a change is keyed by the
-- version it describes (a move A->B->A->B is four moves, four texts), and a re-sent
-- confirmation is deduplicated per version.
ALTER TABLE reservation.reservations ADD COLUMN version integer NOT NULL DEFAULT 1;

-- Confirmations texted again on request: one row per appointment version and call (the key
-- that deduplicates), counted per appointment per day for the re-send limit.
CREATE TABLE reservation.confirmation_resends (
    tenant_id      text        NOT NULL,
    reservation_id uuid        NOT NULL,
    version        integer     NOT NULL,
    -- The call that asked (or the idempotency key of a request without a call).
    asked_by       text        NOT NULL,
    sent_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, reservation_id, version, asked_by),
    FOREIGN KEY (tenant_id, reservation_id) REFERENCES reservation.reservations (tenant_id, reservation_id)
);
CREATE INDEX confirmation_resends_by_day ON reservation.confirmation_resends (tenant_id, reservation_id, sent_at);

-- Which phones a call has verified by code (caller identity, services/reservation/identity.py).
CREATE INDEX otp_codes_by_call ON reservation.otp_codes (tenant_id, call_id, verified_at);
