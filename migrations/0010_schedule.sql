-- The clinic's side (SPEC §10, services/reservation/schedule.py): blocked time, who changed a
-- reservation and why, and a per-tenant change feed that a reader can resume without gaps.

-- Blocked time is a reservation row with status BLOCKED, so the one exclusion constraint keeps
-- bookings off it exactly as it keeps them off each other. Unblocked, it becomes RELEASED.
ALTER TABLE reservation.reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE reservation.reservations ADD CONSTRAINT reservations_status_check CHECK (status IN
    ('HELD', 'EXPIRED', 'RELEASED', 'CONFIRMED', 'CANCELED', 'NO_SHOW', 'COMPLETED', 'BLOCKED'));
ALTER TABLE reservation.reservations DROP CONSTRAINT reservations_no_overlap;
ALTER TABLE reservation.reservations ADD CONSTRAINT reservations_no_overlap EXCLUDE USING gist
    (tenant_id WITH =, provider_id WITH =, occupied WITH &&)
    WHERE (status IN ('HELD', 'CONFIRMED', 'BLOCKED'));

-- ListAppointments pages by (start, id) within a tenant.
CREATE INDEX reservations_by_start ON reservation.reservations (tenant_id, starts_at, reservation_id);

-- Staff operations set these for their transaction (set_config(..., true)); the history trigger
-- copies them, so a reason is recorded by the same write that makes the change.
ALTER TABLE reservation.reservation_events
    ADD COLUMN actor  text NOT NULL DEFAULT '',
    ADD COLUMN reason text NOT NULL DEFAULT '',
    -- Position in the tenant's change feed, assigned at commit (below); NULL only until then.
    ADD COLUMN seq    bigint;

CREATE OR REPLACE FUNCTION reservation.record_reservation_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT'
       OR NEW.status IS DISTINCT FROM OLD.status
       OR NEW.starts_at IS DISTINCT FROM OLD.starts_at
       OR NEW.provider_id IS DISTINCT FROM OLD.provider_id THEN
        INSERT INTO reservation.reservation_events
            (tenant_id, reservation_id, from_status, to_status, provider_id, starts_at, ends_at, actor, reason)
        VALUES (NEW.tenant_id, NEW.reservation_id,
                CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
                NEW.status, NEW.provider_id, NEW.starts_at, NEW.ends_at,
                coalesce(current_setting('reservation.actor', true), ''),
                coalesce(current_setting('reservation.reason', true), ''));
    END IF;
    RETURN NULL;
END;
$$;

-- The feed's order. A sequence drawn mid-transaction commits out of order ("seq > cursor" would
-- skip a row committed later), so the number is taken from a per-tenant counter by a DEFERRED
-- trigger, i.e. at commit: the counter row stays locked until the commit completes, so the next
-- writer of the tenant draws its number only after this one is visible. Numbers are therefore
-- visible in order, without holes. The lock is held only for the commit itself (it is the last
-- thing a transaction does), so it adds no lock cycles with the locks taken during the work.
CREATE TABLE reservation.schedule_counters (
    tenant_id text   PRIMARY KEY,
    last_seq  bigint NOT NULL
);

INSERT INTO reservation.schedule_counters (tenant_id, last_seq)
SELECT tenant_id, count(*) FROM reservation.reservation_events GROUP BY tenant_id;
UPDATE reservation.reservation_events e SET seq = numbered.n
FROM (SELECT tenant_id, reservation_id, event_id,
             row_number() OVER (PARTITION BY tenant_id ORDER BY event_id) AS n
      FROM reservation.reservation_events) numbered
WHERE e.tenant_id = numbered.tenant_id AND e.reservation_id = numbered.reservation_id
  AND e.event_id = numbered.event_id;

CREATE UNIQUE INDEX reservation_events_feed ON reservation.reservation_events (tenant_id, seq);

CREATE FUNCTION reservation.number_reservation_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    position bigint;
BEGIN
    INSERT INTO reservation.schedule_counters AS c (tenant_id, last_seq) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET last_seq = c.last_seq + 1
    RETURNING last_seq INTO position;
    UPDATE reservation.reservation_events SET seq = position
    WHERE tenant_id = NEW.tenant_id AND reservation_id = NEW.reservation_id AND event_id = NEW.event_id;
    -- Wakes watchers early; the feed itself is the table (a lost notification loses nothing).
    PERFORM pg_notify('reservation_schedule', NEW.tenant_id);
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER reservation_events_number
    AFTER INSERT ON reservation.reservation_events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION reservation.number_reservation_event();
