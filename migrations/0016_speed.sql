-- Availability keeps each clinic's busy time in memory, fed by WatchSchedule (issue #19). The
-- feed says what a change did to the time a provider is taken, so a reader needs no second look
-- at the row: the occupied range (buffers included) and, for a hold, when it runs out.

ALTER TABLE reservation.reservation_events
    ADD COLUMN occupied_start  timestamptz,
    ADD COLUMN occupied_end    timestamptz,
    ADD COLUMN hold_expires_at timestamptz;

-- Filled from the row as the change left it (the history trigger inserts the event after the
-- row's change, in the same statement). A separate trigger, so the one that decides which
-- changes are recorded (0010, and any later version of it) need not know about these columns.
CREATE FUNCTION reservation.fill_reservation_event_times() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT lower(r.occupied), upper(r.occupied), CASE WHEN r.status = 'HELD' THEN r.hold_expires_at END
    INTO NEW.occupied_start, NEW.occupied_end, NEW.hold_expires_at
    FROM reservation.reservations r
    WHERE r.tenant_id = NEW.tenant_id AND r.reservation_id = NEW.reservation_id;
    RETURN NEW;
END;
$$;

CREATE TRIGGER reservation_events_times
    BEFORE INSERT ON reservation.reservation_events
    FOR EACH ROW EXECUTE FUNCTION reservation.fill_reservation_event_times();
