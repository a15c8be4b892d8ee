-- SendOtp's idempotency key in one round trip (issue #19): take the key's turn (as
-- ReservationRepository.lock_key) and read what the key holds once it is this transaction's
-- turn. A function, so the read runs after the lock is granted and sees what the previous holder
-- committed (one statement's snapshot would be taken before the wait).
CREATE FUNCTION reservation.claim_send_key(
    p_tenant text, p_key text, p_abandoned_seconds double precision,
    OUT method text, OUT response bytea, OUT abandoned boolean
)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant || chr(31) || p_key, 0));
    SELECT i.method, i.response, i.created_at < now() - make_interval(secs => p_abandoned_seconds)
    INTO method, response, abandoned
    FROM reservation.idempotency_keys i
    WHERE i.tenant_id = p_tenant AND i.idempotency_key = p_key;
END;
$$;
