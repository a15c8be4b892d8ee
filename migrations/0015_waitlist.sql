-- The waitlist (SPEC §11, services/reservation/waitlist.py): who waits for which days, the times
-- freed since (recorded by trigger in the transaction that frees them, so none is ever lost), and
-- the offers made, each backed by a hold in the waiter's name.

CREATE TABLE reservation.waitlist (
    tenant_id    text        NOT NULL,
    waitlist_id  uuid        NOT NULL DEFAULT gen_random_uuid(),
    phone        text        NOT NULL,
    patient_name text        NOT NULL DEFAULT '',
    -- '' = the clinic's first service (as FindSlots) / any provider.
    service_id   text        NOT NULL DEFAULT '',
    provider_id  text        NOT NULL DEFAULT '',
    -- Clinic-local days, inclusive, and part of the day ('' = any; else morning/afternoon/evening).
    from_date    date        NOT NULL,
    to_date      date        NOT NULL,
    part_of_day  text        NOT NULL DEFAULT '' CHECK (part_of_day IN ('', 'morning', 'afternoon', 'evening')),
    timezone     text        NOT NULL,
    language     text        NOT NULL DEFAULT '',
    status       text        NOT NULL DEFAULT 'WAITING' CHECK (status IN ('WAITING', 'BOOKED', 'LEFT')),
    call_id      text        NOT NULL DEFAULT '',
    joined_at    timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, waitlist_id),
    CHECK (to_date >= from_date)
);
-- First come, first offered.
CREATE INDEX waitlist_waiting ON reservation.waitlist (tenant_id, joined_at) WHERE status = 'WAITING';
CREATE INDEX waitlist_by_phone ON reservation.waitlist (tenant_id, phone);

-- Offers: one per (waiter, hold). A waiter is never offered the same time twice (the unique key
-- below), and holds at most one live offer (the hold's call id is the waiter's, and a call holds
-- one live hold: reservations_one_hold_per_call).
CREATE TABLE reservation.waitlist_offers (
    tenant_id    text        NOT NULL,
    hold_id      uuid        NOT NULL,
    waitlist_id  uuid        NOT NULL,
    phone        text        NOT NULL,
    provider_id  text        NOT NULL,
    starts_at    timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    status       text        NOT NULL DEFAULT 'OFFERED'
                 CHECK (status IN ('OFFERED', 'ACCEPTED', 'DECLINED', 'EXPIRED')),
    created_at   timestamptz NOT NULL,
    answered_at  timestamptz,
    -- The inbound text that answered it: the same text twice is one answer.
    answered_sid text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, hold_id),
    UNIQUE (tenant_id, waitlist_id, provider_id, starts_at),
    FOREIGN KEY (tenant_id, waitlist_id) REFERENCES reservation.waitlist (tenant_id, waitlist_id),
    FOREIGN KEY (tenant_id, hold_id) REFERENCES reservation.reservations (tenant_id, reservation_id)
);
-- A reply answers the latest offer texted to that phone.
CREATE INDEX waitlist_offers_by_phone ON reservation.waitlist_offers (tenant_id, phone, created_at);

-- Times freed: a queue the offer worker claims with FOR UPDATE SKIP LOCKED and a lease
-- (common/relay.py), so N replicas share it and a crashed worker's rows come due again.
CREATE TABLE reservation.freed_slots (
    tenant_id      text        NOT NULL,
    freed_id       bigint      GENERATED ALWAYS AS IDENTITY,
    reservation_id uuid        NOT NULL,
    provider_id    text        NOT NULL,
    service_id     text        NOT NULL,
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL,
    -- What freed it: the reservation's new status, or MOVED.
    cause          text        NOT NULL,
    freed_at       timestamptz NOT NULL DEFAULT now(),
    available_at   timestamptz NOT NULL DEFAULT now(),
    attempts       int         NOT NULL DEFAULT 0,
    claimed_until  timestamptz,
    claimed_by     text        NOT NULL DEFAULT '',
    done_at        timestamptz,
    PRIMARY KEY (tenant_id, freed_id)
);
CREATE INDEX freed_slots_due ON reservation.freed_slots (available_at) WHERE done_at IS NULL;

-- Whenever a hold, appointment or block stops occupying its time (a new status that occupies
-- nothing, or a move), the old time is recorded, by the same write. Only for clinics with someone
-- waiting: the others' cancellations cost one index probe.
CREATE FUNCTION reservation.record_freed_slot() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IN ('HELD', 'CONFIRMED', 'BLOCKED')
       AND (NEW.status NOT IN ('HELD', 'CONFIRMED', 'BLOCKED')
            OR NEW.occupied IS DISTINCT FROM OLD.occupied
            OR NEW.provider_id IS DISTINCT FROM OLD.provider_id)
       AND EXISTS (SELECT 1 FROM reservation.waitlist w
                   WHERE w.tenant_id = OLD.tenant_id AND w.status = 'WAITING') THEN
        INSERT INTO reservation.freed_slots
            (tenant_id, reservation_id, provider_id, service_id, starts_at, ends_at, cause)
        VALUES (OLD.tenant_id, OLD.reservation_id, OLD.provider_id, OLD.service_id, OLD.starts_at, OLD.ends_at,
                CASE WHEN NEW.status IN ('HELD', 'CONFIRMED', 'BLOCKED') THEN 'MOVED' ELSE NEW.status END);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER reservations_freed
    AFTER UPDATE ON reservation.reservations
    FOR EACH ROW EXECUTE FUNCTION reservation.record_freed_slot();

-- Notification learns the two waitlist texts. The kind list is extended, not restated, so a
-- migration of another feature that added kinds before this one keeps them.
DO $$
DECLARE
    definition text;
BEGIN
    SELECT pg_get_constraintdef(oid) INTO definition FROM pg_constraint
    WHERE conrelid = 'notification.messages'::regclass AND conname = 'messages_kind_check';
    IF definition IS NOT NULL AND position('WAITLIST_OFFER' IN definition) = 0 THEN
        EXECUTE 'ALTER TABLE notification.messages DROP CONSTRAINT messages_kind_check';
        EXECUTE 'ALTER TABLE notification.messages ADD CONSTRAINT messages_kind_check '
            || replace(definition, 'ARRAY[', 'ARRAY[''WAITLIST_OFFER''::text, ''WAITLIST_OFFER_EXPIRED''::text, ');
    END IF;
END;
$$;
