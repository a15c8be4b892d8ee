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

-- Fewer round trips on the write paths (issue #19). Both take advisory locks and only then
-- read: a VOLATILE PL/pgSQL function reads with a snapshot taken after the lock (each statement
-- of it gets a fresh one), which one plain statement could not do. Keys are hashed exactly as
-- ReservationRepository.lock_key hashes them, so both ways lock the same keys.

-- Locks in the order given (callers rely on one order to never wait for each other in a circle).
CREATE FUNCTION reservation.lock_keys(keys text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    k text;
BEGIN
    FOREACH k IN ARRAY keys LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(k, 0));
    END LOOP;
END;
$$;

-- The stored reply of an idempotency key, read under the key's lock (no row: first use).
CREATE FUNCTION reservation.claim_idempotency_key(p_tenant text, p_key text, OUT method text, OUT response bytea)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant || chr(31) || p_key, 0));
    SELECT i.method, i.response INTO method, response
    FROM reservation.idempotency_keys i
    WHERE i.tenant_id = p_tenant AND i.idempotency_key = p_key;
END;
$$;

-- What a hold does before its insert, in one round trip: take the provider's turn (as
-- ReservationRepository.lock_key), release the call's live holds (a call has one; a refusal
-- rolls this back with the caller's savepoint) and mark run-out holds on this time EXPIRED (so
-- the exclusion constraint stops counting them). The same statements as release_call_holds and
-- expire_stale_overlapping, which other paths use alone.
CREATE FUNCTION reservation.clear_for_hold(
    p_tenant text, p_provider text, p_call text, p_start timestamptz, p_end timestamptz, p_now timestamptz
) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant || chr(31) || 'provider' || chr(31) || p_provider, 0));
    IF p_call <> '' THEN
        UPDATE reservation.reservations
        SET status = CASE WHEN hold_expires_at <= p_now THEN 'EXPIRED' ELSE 'RELEASED' END, updated_at = p_now,
            version = version + 1
        WHERE tenant_id = p_tenant AND call_id = p_call AND status = 'HELD';
    END IF;
    UPDATE reservation.reservations SET status = 'EXPIRED', updated_at = p_now, version = version + 1
    WHERE tenant_id = p_tenant AND provider_id = p_provider AND status = 'HELD'
      AND hold_expires_at <= p_now AND occupied && tstzrange(p_start, p_end);
END;
$$;
