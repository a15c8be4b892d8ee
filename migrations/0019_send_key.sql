-- SendOtp's idempotency key in one round trip (issue #19). SendOtp keeps a key pending while its
-- code travels to notification and takes over a pending key left by an attempt that died, so it
-- needs to know when the key was written: the key's lock-and-read (0016) also answers that.
DROP FUNCTION reservation.claim_idempotency_key(text, text);

-- The stored reply of an idempotency key, read under the key's lock (no row: first use). A
-- function, so the read runs after the lock is granted and sees what the previous holder committed.
CREATE FUNCTION reservation.claim_idempotency_key(
    p_tenant text, p_key text, OUT method text, OUT response bytea, OUT created_at timestamptz
)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant || chr(31) || p_key, 0));
    SELECT i.method, i.response, i.created_at INTO method, response, created_at
    FROM reservation.idempotency_keys i
    WHERE i.tenant_id = p_tenant AND i.idempotency_key = p_key;
END;
$$;
